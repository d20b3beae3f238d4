  // ---- inspect (util.inspect semantics, no guest code) ----------------------------------------
  const kMaxArrayLength = 100;
  const kMaxStringLength = 10000;
  const kBreakLength = 80;
  const kCompact = 3;
  const kMinLineWidth = 16;
  const kOutputBudget = 1 << 24;
  const kObjectType = 0;
  const kArrayExtrasType = 1;
  const kArrayType = 2;

  function unwrapProxy(value) {
    let guard = 0;
    while (nativeIsProxy(value)) {
      value = nativeProxyTarget(value);
      if (value === null || value === undefined || ++guard > 10000) return null;
    }
    return value;
  }
  function ownDesc(object, key) {
    object = unwrapProxy(object);
    if (object === null) return undefined;
    let desc;
    try { desc = ObjectGetOwnPropertyDescriptor(object, key); } catch { return undefined; }
    if (desc !== undefined) ObjectSetPrototypeOf(desc, null);
    return desc;
  }
  function protoOf(object) {
    object = unwrapProxy(object);
    if (object === null) return null;
    try { return ObjectGetPrototypeOf(object); } catch { return null; }
  }
  function hasOwn(object, key) { return ownDesc(object, key) !== undefined; }
  function inChain(object, proto) {
    let tmp = protoOf(object);
    for (let guard = 0; tmp !== null && guard < 10000; guard++) {
      if (tmp === proto) return true;
      tmp = protoOf(tmp);
    }
    return false;
  }
  // A data property found along the prototype chain (getters are never run).
  function dataInChain(object, key) {
    let tmp = object;
    for (let guard = 0; tmp !== null && guard < 10000; guard++) {
      const desc = ownDesc(tmp, key);
      if (desc !== undefined) return 'value' in desc ? desc.value : undefined;
      tmp = protoOf(tmp);
    }
    return undefined;
  }
  function hasPropertyInChain(object, key) {
    let tmp = object;
    for (let guard = 0; tmp !== null && guard < 10000; guard++) {
      if (ownDesc(tmp, key) !== undefined) return true;
      tmp = protoOf(tmp);
    }
    return false;
  }
  function functionName(fn) {
    const desc = ownDesc(fn, 'name');
    return desc !== undefined && typeof desc.value === 'string' ? desc.value : '';
  }
  function getConstructorName(object) {
    let tmp = object;
    let firstProto;
    for (let guard = 0; tmp !== null && guard < 10000; guard++) {
      const desc = ownDesc(tmp, 'constructor');
      if (desc !== undefined && typeof desc.value === 'function') {
        const name = functionName(desc.value);
        if (name !== '') {
          const protoDesc = ownDesc(desc.value, 'prototype');
          if (protoDesc !== undefined && 'value' in protoDesc && inChain(object, protoDesc.value)) return name;
        }
      }
      tmp = protoOf(tmp);
      if (firstProto === undefined) firstProto = tmp;
    }
    return firstProto === null ? null : 'Object';
  }
  function isArrayIndexKey(key) {
    if (typeof key !== 'string' || key.length === 0 || key.length > 10) return false;
    const first = StringPrototypeCharCodeAt(key, 0);
    if (first === 48) return key.length === 1;
    for (let i = 0; i < key.length; i++) {
      const c = StringPrototypeCharCodeAt(key, i);
      if (c < 48 || c > 57) return false;
    }
    return NumberCtor(key) < 4294967295;
  }
  // Own enumerable keys (strings, then symbols), like Object.keys + enumerable symbols.
  function getKeys(value, skipIndices, skipFirst) {
    const keys = list();
    const all = ReflectOwnKeys(value);
    for (let i = skipFirst || 0; i < all.length; i++) {
      const key = all[i];
      if (skipIndices && isArrayIndexKey(key)) continue;
      const desc = ownDesc(value, key);
      if (desc !== undefined && desc.enumerable) push(keys, key);
    }
    return keys;
  }
  function getPrefix(constructor, tag, fallback, size) {
    if (size === undefined) size = '';
    if (constructor === null) {
      if (tag !== '' && fallback !== tag) return '[' + fallback + size + ': null prototype] [' + tag + '] ';
      return '[' + fallback + size + ': null prototype] ';
    }
    if (tag !== '' && constructor !== tag) return constructor + size + ' [' + tag + '] ';
    return constructor + size + ' ';
  }

  const meta = [];
  for (let i = 0; i < 0xa0; i++) {
    meta[i] = i < 0x20 || i >= 0x7f ? '\\x' + StringPrototypePadStart(StringPrototypeToUpperCase(NumberPrototypeToString(i, 16)), 2, '0') : '';
  }
  meta[8] = '\\b'; meta[9] = '\\t'; meta[10] = '\\n'; meta[12] = '\\f'; meta[13] = '\\r';
  meta[39] = "\\'"; meta[92] = '\\\\';
  function strEscape(str) {
    let quote = 39;
    if (StringPrototypeIncludes(str, "'")) {
      if (!StringPrototypeIncludes(str, '"')) quote = 34;
      else if (!StringPrototypeIncludes(str, '`') && !StringPrototypeIncludes(str, '${')) quote = 96;
    }
    let result = '';
    let last = 0;
    const length = str.length;
    for (let i = 0; i < length; i++) {
      const c = StringPrototypeCharCodeAt(str, i);
      let replacement;
      if (c < 0xa0) {
        if (c === quote || c === 92 || c < 0x20 || c >= 0x7f) replacement = c === 39 ? "\\'" : (c === quote ? '\\' + StringFromCharCode(c) : meta[c]);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        if (c <= 0xdbff && i + 1 < length) {
          const next = StringPrototypeCharCodeAt(str, i + 1);
          if (next >= 0xdc00 && next <= 0xdfff) { i++; continue; }
        }
        replacement = '\\u' + NumberPrototypeToString(c, 16);
      }
      if (replacement !== undefined) {
        if (last !== i) result += StringPrototypeSlice(str, last, i);
        result += replacement;
        last = i + 1;
      }
    }
    if (last === 0) result = str;
    else if (last !== length) result += StringPrototypeSlice(str, last);
    const q = StringFromCharCode(quote);
    return q + result + q;
  }
  function formatNumber(n) {
    if (n === 0 && 1 / n < 0) return '-0';
    return '' + n;
  }
  function formatString(ctx, value) {
    let trailer = '';
    if (value.length > kMaxStringLength) {
      const remaining = value.length - kMaxStringLength;
      value = StringPrototypeSlice(value, 0, kMaxStringLength);
      trailer = '... ' + remaining + ' more character' + (remaining > 1 ? 's' : '');
    }
    if (value.length > kMinLineWidth && value.length > kBreakLength - ctx.indentationLvl - 4) {
      const parts = list();
      let start = 0;
      for (;;) {
        const nl = StringPrototypeIndexOf(value, '\n', start);
        if (nl === -1 || nl === value.length - 1) { push(parts, strEscape(StringPrototypeSlice(value, start))); break; }
        push(parts, strEscape(StringPrototypeSlice(value, start, nl + 1)));
        start = nl + 1;
      }
      return join(parts, ' +\n' + StringPrototypeRepeat(' ', ctx.indentationLvl + 2)) + trailer;
    }
    return strEscape(value) + trailer;
  }
  function formatPrimitive(ctx, value) {
    switch (typeof value) {
      case 'string': return formatString(ctx, value);
      case 'number': return formatNumber(value);
      case 'bigint': return StringCtor(value) + 'n';
      case 'boolean': return value ? 'true' : 'false';
      case 'undefined': return 'undefined';
      case 'symbol': return SymbolPrototypeToString(value);
      default: return '[unknown]';
    }
  }

  function newContext(depth) {
    return { __proto__: null, seen: list(), circular: undefined, indentationLvl: 0, currentDepth: 0, depth, budget: 0 };
  }
  function inspect(value, depth) {
    const ctx = newContext(depth === undefined ? 2 : depth);
    try {
      return formatValue(ctx, value, 0);
    } catch {
      return '[object: inspection failed]';
    }
  }

  function formatValue(ctx, value, recurseTimes, typedArray) {
    if (typeof value !== 'object' && typeof value !== 'function') return formatPrimitive(ctx, value);
    if (value === null) return 'null';
    if (nativeIsProxy(value)) {
      value = unwrapProxy(value);
      if (value === null) return '<Revoked Proxy>';
    }
    if (indexOfIdentity(ctx.seen, value) !== -1) {
      let index = 1;
      if (ctx.circular === undefined) {
        ctx.circular = new MapCtor();
        MapPrototypeSet(ctx.circular, value, index);
      } else {
        index = MapPrototypeGet(ctx.circular, value);
        if (index === undefined) {
          index = MapPrototypeGetSize(ctx.circular) + 1;
          MapPrototypeSet(ctx.circular, value, index);
        }
      }
      return '[Circular *' + index + ']';
    }
    if (ctx.budget > kOutputBudget) return '...';
    const seenLength = ctx.seen.length;
    const indentation = ctx.indentationLvl;
    try {
      const result = formatRaw(ctx, value, recurseTimes, typedArray);
      ctx.budget += result.length;
      return result;
    } catch {
      ctx.seen.length = seenLength;
      ctx.indentationLvl = indentation;
      return '[object: inspection failed]';
    }
  }

  function typedArrayName(value) {
    if (TypedArrayPrototypeGetTag === undefined) return undefined;
    return TypedArrayPrototypeGetTag(value);
  }
  function isError(value) { return inChain(value, ErrorPrototype); }
  function getBoxed(value) {
    try { return ['Number', NumberPrototypeValueOf(value)]; } catch { /* not a Number */ }
    try { return ['String', StringPrototypeValueOf(value)]; } catch { /* not a String */ }
    try { return ['Boolean', BooleanPrototypeValueOf(value)]; } catch { /* not a Boolean */ }
    if (BigIntPrototypeValueOf !== undefined) {
      try { return ['BigInt', BigIntPrototypeValueOf(value)]; } catch { /* not a BigInt */ }
    }
    try { return ['Symbol', SymbolPrototypeValueOf(value)]; } catch { /* not a Symbol */ }
    return undefined;
  }
  function isArguments(value) {
    if (hasPropertyInChain(value, Symbol.toStringTag)) return false;
    try { return ObjectPrototypeToString(value) === '[object Arguments]'; } catch { return false; }
  }
  function dataLength(value) {
    const desc = ownDesc(value, 'length');
    return desc !== undefined && typeof desc.value === 'number' ? desc.value : 0;
  }

  function formatRaw(ctx, value, recurseTimes, typedArray) {
    let keys;
    const constructor = getConstructorName(value);
    let tag = dataInChain(value, Symbol.toStringTag);
    if (typeof tag !== 'string' || (tag !== '' && (() => { const d = ownDesc(value, Symbol.toStringTag); return d !== undefined && d.enumerable; })())) tag = '';
    let base = '';
    let formatter = formatNothing;
    let braces;
    let noIterator = true;
    let extrasType = kObjectType;
    let extras; // [name, value] pairs shown before the keys (byteLength of buffers, ...)
    const taName = typedArrayName(value);

    if (ArrayIsArray(value)) {
      noIterator = false;
      const length = dataLength(value);
      keys = getKeys(value, true);
      const prefix = (constructor !== 'Array' || tag !== '') ? getPrefix(constructor, tag, 'Array', '(' + length + ')') : '';
      braces = [prefix + '[', ']'];
      if (length === 0 && keys.length === 0) return braces[0] + ']';
      extrasType = kArrayExtrasType;
      formatter = formatArray;
    } else if (brand(SetPrototypeGetSize, value)) {
      noIterator = false;
      const size = SetPrototypeGetSize(value);
      const prefix = getPrefix(constructor, tag, 'Set', '(' + size + ')');
      keys = getKeys(value, false);
      formatter = formatSet;
      if (size === 0 && keys.length === 0) return prefix + '{}';
      braces = [prefix + '{', '}'];
    } else if (brand(MapPrototypeGetSize, value)) {
      noIterator = false;
      const size = MapPrototypeGetSize(value);
      const prefix = getPrefix(constructor, tag, 'Map', '(' + size + ')');
      keys = getKeys(value, false);
      formatter = formatMap;
      if (size === 0 && keys.length === 0) return prefix + '{}';
      braces = [prefix + '{', '}'];
    } else if (taName !== undefined) {
      noIterator = false;
      const length = TypedArrayPrototypeGetLength(value);
      keys = getKeys(value, false, length);
      const prefix = getPrefix(constructor, tag, taName, '(' + length + ')');
      braces = [prefix + '[', ']'];
      if (length === 0 && keys.length === 0) return braces[0] + ']';
      formatter = formatTypedArray;
      extrasType = kArrayExtrasType;
    }
    if (noIterator) {
      keys = getKeys(value, false);
      braces = ['{', '}'];
      let boxed;
      if (constructor === 'Object' && !(typeof value === 'function')) {
        if (isArguments(value)) {
          braces[0] = '[Arguments] {';
                } else if (tag !== '') {
          braces[0] = getPrefix(constructor, tag, 'Object') + '{';
        }
        if (keys.length === 0 && formatter === formatNothing) return braces[0] + '}';
      } else if (typeof value === 'function') {
        base = getFunctionBase(value, constructor, tag);
        if (keys.length === 0) return base;
      } else if (brand(RegExpPrototypeGetSource, value) && value !== RegExp.prototype) {
        let flags = '';
        for (let i = 0; i < regExpFlagGetters.length; i++) if (regExpFlagGetters[i][0](value)) flags += regExpFlagGetters[i][1];
        base = '/' + RegExpPrototypeGetSource(value) + '/' + flags;
        const prefix = getPrefix(constructor, tag, 'RegExp');
        if (prefix !== 'RegExp ') base = prefix + base;
        if (keys.length === 0) return base;
      } else if (brand(DatePrototypeGetTime, value)) {
        base = NumberIsNaN(DatePrototypeGetTime(value)) ? DatePrototypeToString(value) : DatePrototypeToISOString(value);
        const prefix = getPrefix(constructor, tag, 'Date');
        if (prefix !== 'Date ') base = prefix + base;
        if (keys.length === 0) return base;
      } else if (isError(value)) {
        base = formatErrorValue(ctx, value, constructor, tag, keys);
        if (keys.length === 0) return base;
      } else if (brand(ArrayBufferPrototypeGetByteLength, value) || brand(SharedArrayBufferPrototypeGetByteLength, value)) {
        const isShared = !brand(ArrayBufferPrototypeGetByteLength, value);
        const byteLength = isShared ? SharedArrayBufferPrototypeGetByteLength(value) : ArrayBufferPrototypeGetByteLength(value);
        const prefix = getPrefix(constructor, tag, isShared ? 'SharedArrayBuffer' : 'ArrayBuffer');
        if (typedArray) {
          if (keys.length === 0) return prefix + '{ byteLength: ' + formatNumber(byteLength) + ' }';
        } else {
          formatter = formatArrayBuffer;
        }
        braces[0] = prefix + '{';
        extras = [['byteLength', byteLength]];
      } else if (brand(DataViewPrototypeGetByteLength, value)) {
        braces[0] = getPrefix(constructor, tag, 'DataView') + '{';
        extras = [['byteLength', DataViewPrototypeGetByteLength(value)], ['byteOffset', DataViewPrototypeGetByteOffset(value)],
          ['buffer', DataViewPrototypeGetBuffer(value)]];
      } else if (nativePromiseState(value) !== undefined) {
        braces[0] = getPrefix(constructor, tag, 'Promise') + '{';
        formatter = formatPromise;
      } else if (brand(WeakSetPrototypeHas, value)) {
        braces[0] = getPrefix(constructor, tag, 'WeakSet') + '{';
        formatter = formatWeakCollection;
      } else if (brand(WeakMapPrototypeHas, value)) {
        braces[0] = getPrefix(constructor, tag, 'WeakMap') + '{';
        formatter = formatWeakCollection;
      } else if (isURLObject(value)) {
        braces[0] = getPrefix(constructor, tag, 'URL') + '{';
        extras = urlInspectEntries(value);
      } else if (isURLSearchParamsObject(value)) {
        const entries = searchParamsEntries(value);
        if (entries.length === 0 && keys.length === 0) return getPrefix(constructor, tag, 'URLSearchParams') + '{}';
        braces[0] = getPrefix(constructor, tag, 'URLSearchParams') + '{';
        formatter = formatSearchParams;
      } else if ((boxed = getBoxed(value)) !== undefined) {
        const type = boxed[0];
        if (type === 'String') keys = getKeys(value, true);
        base = '[' + type;
        if (type !== constructor) base += constructor === null ? ' (null prototype)' : ' (' + constructor + ')';
        base += ': ' + formatPrimitive(newContext(0), boxed[1]) + ']';
        if (tag !== '' && tag !== constructor) base += ' [' + tag + ']';
        if (keys.length === 0) return base;
      } else {
        if (keys.length === 0) return getPrefix(constructor, tag, 'Object') + '{}';
        braces[0] = getPrefix(constructor, tag, 'Object') + '{';
      }
    }

    if (recurseTimes > ctx.depth && ctx.depth !== null) {
      let name = StringPrototypeSlice(getPrefix(constructor, tag, 'Object'), 0, -1);
      if (constructor !== null) name = '[' + name + ']';
      return name;
    }
    recurseTimes += 1;
    push(ctx.seen, value);
    ctx.currentDepth = recurseTimes;
    const output = formatter(ctx, value, recurseTimes);
    if (extras !== undefined) {
      for (let i = 0; i < extras.length; i++) push(output, formatPropertyValue(ctx, extras[i][0], extras[i][1], recurseTimes, true));
    }
    for (let i = 0; i < keys.length; i++) push(output, formatProperty(ctx, value, recurseTimes, keys[i], extrasType));
    ctx.seen.length -= 1;
    if (ctx.circular !== undefined) {
      const index = MapPrototypeGet(ctx.circular, value);
      if (index !== undefined) {
        const reference = '<ref *' + index + '>';
        base = base === '' ? reference : reference + ' ' + base;
      }
    }
    return reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value);
  }

  function formatNothing() { return list(); }
  function formatWeakCollection() { const output = list(); push(output, '<items unknown>'); return output; }
  function remainingText(remaining) { return '... ' + remaining + ' more item' + (remaining > 1 ? 's' : ''); }

  function formatArray(ctx, value, recurseTimes) {
    const length = dataLength(value);
    const maxLength = MathMin(kMaxArrayLength, length);
    const output = list();
    for (let i = 0; i < maxLength; i++) {
      if (!hasOwn(value, '' + i)) return formatSpecialArray(ctx, value, recurseTimes, maxLength, output, i, length);
      push(output, formatProperty(ctx, value, recurseTimes, '' + i, kArrayType));
    }
    if (length > maxLength) push(output, remainingText(length - maxLength));
    return output;
  }
  function formatSpecialArray(ctx, value, recurseTimes, maxLength, output, i, length) {
    const keys = getKeys(value, false);
    let index = i;
    for (; i < keys.length && output.length < maxLength; i++) {
      const key = keys[i];
      if (!isArrayIndexKey(key)) break;
      const tmp = NumberCtor(key);
      if (tmp > 4294967294) break;
      if ('' + index !== key) {
        const emptyItems = tmp - index;
        push(output, '<' + emptyItems + ' empty item' + (emptyItems > 1 ? 's' : '') + '>');
        index = tmp;
        if (output.length === maxLength) break;
      }
      push(output, formatProperty(ctx, value, recurseTimes, key, kArrayType));
      index++;
    }
    const remaining = length - index;
    if (output.length !== maxLength) {
      if (remaining > 0) push(output, '<' + remaining + ' empty item' + (remaining > 1 ? 's' : '') + '>');
    } else if (remaining > 0) {
      push(output, remainingText(remaining));
    }
    return output;
  }
  function formatTypedArray(ctx, value) {
    const length = TypedArrayPrototypeGetLength(value);
    const maxLength = MathMin(kMaxArrayLength, length);
    const output = list();
    for (let i = 0; i < maxLength; i++) {
      const element = value[i];
      push(output, typeof element === 'bigint' ? StringCtor(element) + 'n' : formatNumber(element));
    }
    if (length > maxLength) push(output, remainingText(length - maxLength));
    return output;
  }
  function formatArrayBuffer(ctx, value) {
    let bytes;
    try { bytes = new Uint8ArrayCtor(value); } catch { const output = list(); push(output, '(detached)'); return output; }
    const length = TypedArrayPrototypeGetLength(bytes);
    let str = '';
    const shown = MathMin(kMaxArrayLength, length);
    for (let i = 0; i < shown; i++) {
      if (i !== 0) str += ' ';
      str += StringPrototypePadStart(NumberPrototypeToString(bytes[i], 16), 2, '0');
    }
    const remaining = length - kMaxArrayLength;
    if (remaining > 0) str += ' ... ' + remaining + ' more byte' + (remaining > 1 ? 's' : '');
    const output = list();
    push(output, '[Uint8Contents]: <' + str + '>');
    return output;
  }
  function formatSet(ctx, value, recurseTimes) {
    const size = SetPrototypeGetSize(value);
    const maxLength = MathMin(kMaxArrayLength, size);
    const output = list();
    ctx.indentationLvl += 2;
    const iterator = SetPrototypeValues(value);
    for (let i = 0; i < maxLength; i++) {
      const step = SetIteratorNext(iterator);
      if (step.done) break;
      push(output, formatValue(ctx, step.value, recurseTimes));
    }
    if (size > maxLength) push(output, remainingText(size - maxLength));
    ctx.indentationLvl -= 2;
    return output;
  }
  function formatMap(ctx, value, recurseTimes) {
    const size = MapPrototypeGetSize(value);
    const maxLength = MathMin(kMaxArrayLength, size);
    const output = list();
    ctx.indentationLvl += 2;
    const iterator = MapPrototypeEntries(value);
    for (let i = 0; i < maxLength; i++) {
      const step = MapIteratorNext(iterator);
      if (step.done) break;
      const entry = step.value;
      push(output, formatValue(ctx, entry[0], recurseTimes) + ' => ' + formatValue(ctx, entry[1], recurseTimes));
    }
    if (size > maxLength) push(output, remainingText(size - maxLength));
    ctx.indentationLvl -= 2;
    return output;
  }
  function formatPromise(ctx, value, recurseTimes) {
    const output = list();
    const details = nativePromiseState(value);
    const state = details[0];
    if (state === 0) {
      push(output, '<pending>');
    } else {
      ctx.indentationLvl += 2;
      const str = formatValue(ctx, details[1], recurseTimes);
      ctx.indentationLvl -= 2;
      push(output, state === 2 ? '<rejected> ' + str : str);
    }
    return output;
  }
  function formatSearchParams(ctx, value, recurseTimes) {
    const entries = searchParamsEntries(value);
    const output = list();
    ctx.indentationLvl += 2;
    for (let i = 0; i < entries.length; i++) {
      push(output, formatValue(ctx, entries[i][0], recurseTimes) + ' => ' + formatValue(ctx, entries[i][1], recurseTimes));
    }
    ctx.indentationLvl -= 2;
    return output;
  }

  function getFunctionBase(value, constructor, tag) {
    let source = '';
    try { source = FunctionPrototypeToString(value); } catch { /* not a plain function */ }
    if (StringPrototypeStartsWith(source, 'class') && StringPrototypeEndsWith(source, '}')) {
      const slice = StringPrototypeSlice(source, 5, -1);
      const bracketIndex = StringPrototypeIndexOf(slice, '{');
      if (bracketIndex !== -1 && !StringPrototypeIncludes(StringPrototypeSlice(slice, 0, bracketIndex), '(')) {
        const name = hasOwn(value, 'name') ? functionName(value) : '';
        let base = 'class ' + (name === '' ? '(anonymous)' : name);
        if (constructor !== 'Function' && constructor !== null) base += ' [' + constructor + ']';
        if (tag !== '' && constructor !== tag) base += ' [' + tag + ']';
        if (constructor !== null) {
          const superClass = protoOf(value);
          const superName = superClass !== null ? functionName(superClass) : '';
          if (superName !== '') base += ' extends ' + superName;
        } else {
          base += ' extends [null prototype]';
        }
        return '[' + base + ']';
      }
    }
    let type = 'Function';
    if (inChain(value, GeneratorFunctionPrototype)) type = 'GeneratorFunction';
    else if (inChain(value, AsyncGeneratorFunctionPrototype)) type = 'AsyncGeneratorFunction';
    else if (inChain(value, AsyncFunctionPrototype)) type = 'AsyncFunction';
    let base = '[' + type;
    if (constructor === null) base += ' (null prototype)';
    const name = functionName(value);
    base += name === '' ? ' (anonymous)' : ': ' + name;
    base += ']';
    if (constructor !== type && constructor !== null) base += ' ' + constructor;
    if (tag !== '' && constructor !== tag) base += ' [' + tag + ']';
    return base;
  }

  // The stack of an error, read without running guest getters.
  function errorStack(error) {
    const desc = ownDesc(error, 'stack');
    if (desc !== undefined) {
      if ('value' in desc) return typeof desc.value === 'string' ? desc.value : undefined;
      if (desc.get !== undefined && desc.get === errorStackGetter) {
        try {
          const stack = ReflectApply(errorStackGetter, error, []);
          return typeof stack === 'string' ? stack : undefined;
        } catch { return undefined; }
      }
    }
    return undefined;
  }
  function errorToString(error) {
    let name = dataInChain(error, 'name');
    let message = dataInChain(error, 'message');
    name = name === undefined ? 'Error' : (typeof name === 'string' ? name : inspect(name, 0));
    message = message === undefined ? '' : (typeof message === 'string' ? message : inspect(message, 0));
    if (name === '') return message;
    if (message === '') return name;
    return name + ': ' + message;
  }
  function improveStack(stack, constructor, name, tag) {
    let len = name.length;
    if (constructor === null ||
        (StringPrototypeEndsWith(name, 'Error') && StringPrototypeStartsWith(stack, name) &&
         (stack.length === len || stack[len] === ':' || stack[len] === '\n'))) {
      let fallback = 'Error';
      if (constructor === null) {
        const start = RegExpPrototypeExec(/^([A-Z][a-z_ A-Z0-9[\]()-]+)(?::|\n\s+at)/, stack) ||
          RegExpPrototypeExec(/^([a-z_A-Z0-9-]*Error)$/, stack);
        fallback = (start && start[1]) || '';
        len = fallback.length;
        fallback = fallback || 'Error';
      }
      const prefix = StringPrototypeSlice(getPrefix(constructor, tag, fallback), 0, -1);
      if (name !== prefix) {
        if (StringPrototypeIncludes(prefix, name)) {
          stack = len === 0 ? prefix + ': ' + stack : prefix + StringPrototypeSlice(stack, len);
        } else {
          stack = prefix + ' [' + name + ']' + StringPrototypeSlice(stack, len);
        }
      }
    }
    return stack;
  }
  function formatErrorValue(ctx, error, constructor, tag, keys) {
    const nameValue = dataInChain(error, 'name');
    const name = typeof nameValue === 'string' ? nameValue : 'Error';
    let stack = errorStack(error);
    if (!stack) stack = errorToString(error);
    // Keys already visible in the stack are not repeated.
    const names = ['name', 'message', 'stack'];
    for (let i = 0; i < names.length; i++) {
      const index = indexOfIdentity(keys, names[i]);
      if (index !== -1) {
        const v = ownDesc(error, names[i]);
        if (v !== undefined && typeof v.value === 'string' && StringPrototypeIncludes(stack, v.value)) ArrayPrototypeSplice(keys, index, 1);
      }
    }
    if (hasOwn(error, 'cause') && indexOfIdentity(keys, 'cause') === -1) push(keys, 'cause');
    const errorsDesc = ownDesc(error, 'errors');
    if (errorsDesc !== undefined && ArrayIsArray(errorsDesc.value) && indexOfIdentity(keys, 'errors') === -1) push(keys, 'errors');
    stack = improveStack(stack, constructor, name, tag);
    const messageDesc = dataInChain(error, 'message');
    let pos = (typeof messageDesc === 'string' && messageDesc !== '' && StringPrototypeIndexOf(stack, messageDesc)) || -1;
    if (pos !== -1) pos += messageDesc.length;
    const stackStart = StringPrototypeIndexOf(stack, '\n    at', pos);
    if (stackStart === -1) stack = '[' + stack + ']';
    if (ctx.indentationLvl !== 0) stack = indentLines(stack, StringPrototypeRepeat(' ', ctx.indentationLvl));
    return stack;
  }
  function indentLines(text, indentation) {
    let result = '';
    let start = 0;
    for (;;) {
      const nl = StringPrototypeIndexOf(text, '\n', start);
      if (nl === -1) return result + StringPrototypeSlice(text, start);
      result += StringPrototypeSlice(text, start, nl + 1) + indentation;
      start = nl + 1;
    }
  }

  function formatPropertyValue(ctx, name, value, recurseTimes) {
    ctx.indentationLvl += 2;
    const str = formatValue(ctx, value, recurseTimes);
    ctx.indentationLvl -= 2;
    return name + ': ' + str;
  }
  const keyStrRegExp = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
  function formatProperty(ctx, value, recurseTimes, key, type) {
    let str;
    const desc = ownDesc(value, key) || { __proto__: null, value: undefined, enumerable: true };
    if (desc.value !== undefined) {
      ctx.indentationLvl += 2;
      str = formatValue(ctx, desc.value, recurseTimes);
      ctx.indentationLvl -= 2;
    } else if (desc.get !== undefined) {
      str = desc.set !== undefined ? '[Getter/Setter]' : '[Getter]';
    } else if (desc.set !== undefined) {
      str = '[Setter]';
    } else {
      str = 'undefined';
    }
    if (type === kArrayType) return str;
    let name;
    if (typeof key === 'symbol') {
      name = '[' + SymbolPrototypeToString(key) + ']';
    } else if (key === '__proto__') {
      name = "['__proto__']";
    } else if (desc.enumerable === false) {
      name = '[' + StringPrototypeSlice(strEscape(key), 1, -1) + ']';
    } else if (RegExpPrototypeExec(keyStrRegExp, key) !== null) {
      name = key;
    } else {
      name = strEscape(key);
    }
    return name + ': ' + str;
  }

  function isBelowBreakLength(output, start, base) {
    let totalLength = output.length + start;
    if (totalLength + output.length > kBreakLength) return false;
    for (let i = 0; i < output.length; i++) {
      totalLength += output[i].length;
      if (totalLength > kBreakLength) return false;
    }
    return base === '' || !StringPrototypeIncludes(base, '\n');
  }
  function reduceToSingleString(ctx, output, base, braces, extrasType, recurseTimes, value) {
    const entries = output.length;
    if (extrasType === kArrayExtrasType && entries > 6) output = groupArrayElements(ctx, output, value);
    if (ctx.currentDepth - recurseTimes < kCompact && entries === output.length) {
      const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
      if (isBelowBreakLength(output, start, base)) {
        const joined = join(output, ', ');
        if (!StringPrototypeIncludes(joined, '\n')) {
          return (base ? base + ' ' : '') + braces[0] + ' ' + joined + ' ' + braces[1];
        }
      }
    }
    const indentation = '\n' + StringPrototypeRepeat(' ', ctx.indentationLvl);
    return (base ? base + ' ' : '') + braces[0] + indentation + '  ' + join(output, ',' + indentation + '  ') + indentation + braces[1];
  }
  function groupArrayElements(ctx, output, value) {
    let totalLength = 0;
    let maxLength = 0;
    let i = 0;
    let outputLength = output.length;
    if (outputLength > 0 && StringPrototypeStartsWith(output[outputLength - 1], '... ') &&
        StringPrototypeIncludes(output[outputLength - 1], ' more item')) outputLength--;
    const separatorSpace = 2;
    const dataLen = list();
    for (; i < outputLength; i++) {
      const len = output[i].length;
      dataLen[i] = len;
      totalLength += len + separatorSpace;
      if (maxLength < len) maxLength = len;
    }
    const actualMax = maxLength + separatorSpace;
    if (actualMax * 3 + ctx.indentationLvl < kBreakLength &&
        (totalLength / actualMax > 5 || maxLength <= 6)) {
      const averageBias = MathSqrt(actualMax - totalLength / output.length);
      const biasedMax = MathMax(actualMax - 3 - averageBias, 1);
      const columns = MathMin(
        MathRound(MathSqrt(2.5 * biasedMax * outputLength) / biasedMax),
        MathFloor((kBreakLength - ctx.indentationLvl) / actualMax),
        kCompact * 4,
        15);
      if (columns <= 1) return output;
      const tmp = list();
      const maxLineLength = list();
      for (let c = 0; c < columns; c++) {
        let lineLength = 0;
        for (let j = c; j < output.length; j += columns) if (dataLen[j] > lineLength) lineLength = dataLen[j];
        push(maxLineLength, lineLength + separatorSpace);
      }
      let padStart = true;
      if (value !== undefined) {
        const isTyped = typedArrayName(value) !== undefined;
        for (let k = 0; k < output.length; k++) {
          let element;
          if (isTyped) element = k < TypedArrayPrototypeGetLength(value) ? value[k] : undefined;
          else { const d = ownDesc(value, '' + k); element = d !== undefined ? d.value : undefined; }
          if (typeof element !== 'number' && typeof element !== 'bigint') { padStart = false; break; }
        }
      }
      for (let k = 0; k < outputLength; k += columns) {
        const max = MathMin(k + columns, outputLength);
        let str = '';
        let j = k;
        for (; j < max - 1; j++) {
          const padding = maxLineLength[j - k];
          str += padStart ? StringPrototypePadStart(output[j] + ', ', padding, ' ') : StringPrototypePadEnd(output[j] + ', ', padding, ' ');
        }
        if (padStart) {
          str += StringPrototypePadStart(output[j], maxLineLength[j - k] - separatorSpace, ' ');
        } else {
          str += output[j];
        }
        push(tmp, str);
      }
      if (outputLength !== output.length) push(tmp, output[outputLength]);
      output = tmp;
    }
    return output;
  }

