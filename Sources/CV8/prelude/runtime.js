// The runtime prelude: evaluated once, while the runtime startup snapshot is built, so every
// context starts with it already in place. This file is a single function expression.
//
// Contract with the C++ engine (Sources/CV8/engine):
//   The engine calls this function with (native, global, lean) and keeps the returned `internals`
//   object in the snapshot (SnapshotCreator::AddData), out of the guest's reach. `lean` is true
//   for the context new stateful heaps start from (see installWhenUsed), false for stateless runs.
//   native (C++ callbacks, never exposed on the global object):
//     print(level, text)        write console text; level: 0 log, 1 info, 2 warn, 3 error, 4 debug.
//                               The engine splits text into lines.
//     now()                     monotonic milliseconds (double) since the run started
//     structuredClone(value)    deep copy with V8's ValueSerializer; throws a DataCloneError
//     isProxy(value)            true for a Proxy
//     proxyTarget(proxy)        the target of a Proxy, without running its traps
//     promiseState(promise)     [state, value]: 0 pending, 1 fulfilled, 2 rejected
//     utf8Encode(string)        Uint8Array of UTF-8 (lone surrogates become U+FFFD)
//     utf8Decode(uint8array)    string (invalid sequences become U+FFFD)
//     hostCall(capability, operation, requestJSON, bytes?)
//                               reports a capability call to the host; returns its id
//     compileModule(url, source) -> [handle, isNew]; moduleRequests(handle) -> specifiers;
//     linkModule(handle, specifier, target); instantiateModule(handle); evaluateModule(handle)
//     -> promise; moduleNamespace(handle): a run's ES modules (modules.cpp)
//   internals (called by the engine, with the run's context entered; the engine also records
//   there, as `installedCapabilities`, which capability preludes this context has run):
//     nextTimerDelay()          ms until the next timer is due (>= 0), or -1 when none is set
//     runNextDueTimer()         runs the earliest due timer; true if one ran. Exceptions propagate.
//     pendingOperations()       count of host operations (async WebAssembly compiles, ...) not settled
//     resultJSON(value)         JSON text for a run's result, or undefined for undefined
//     formatError(exception)    the text for an uncaught exception ("Error: msg\n    at ...")
//     capabilityHost(index)     the `host` object a capability's prelude receives: host.call(operation,
//                               request, bytes?) returns a promise of {value, bytes} (see cv8.h);
//                               host.setModuleLoader(loader) makes imports work: loader(specifier,
//                               referrer URL or null) returns a promise of {url, source}
//     completeHostCall(id, ok, json, bytes)
//                               settles the promise of an ended host call
//     installWasmModule(name, module)
//                               a pre-loaded module: __wasm_<name>, and <name> = its exports when it
//                               imports nothing (the run has not started yet: globals are pristine)
//     unstorableReason()        why the heap a stateful run ends in must not be stored, or undefined
//     beginRun(snapshotting)    called at the start of every run: forgets the last run's modules
//                               (and refuses imports when the run ends in a heap snapshot),
//                               and (WebAssembly does not exist while the snapshot is built) wraps
//                               WebAssembly.compile/instantiate so each returned promise counts in
//                               pendingOperations() until it settles; in a snapshotting isolate,
//                               gives errors their stacks (see enableErrorStacks). Idempotent.
//     loadMainModule(handle)    loads, links and evaluates what the main module imports; a promise
//     importDynamically(specifier, referrer)
//                               import(): a promise of the module's namespace
(function (native, global, lean) {
  'use strict';

  // Originals captured before any guest code runs: guests may replace globals in their own
  // context, but never what the runtime itself calls.
  const uncurryThis = Function.prototype.bind.bind(Function.prototype.call);
  const JSONStringify = JSON.stringify;
  const JSONParse = JSON.parse;
  const StringCtor = String;
  const NumberCtor = Number;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const PromiseCtor = Promise;
  const MapCtor = Map;
  const SetCtor = Set;
  const WeakMapCtor = WeakMap;
  const Uint8ArrayCtor = Uint8Array;
  const ArrayBufferCtor = ArrayBuffer;
  const SharedArrayBufferCtor = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : undefined;
  const ArrayPrototypePush = uncurryThis(Array.prototype.push);
  const ArrayPrototypeJoin = uncurryThis(Array.prototype.join);
  const ArrayPrototypeSplice = uncurryThis(Array.prototype.splice);
  const ArrayIsArray = Array.isArray;
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const ObjectSetPrototypeOf = Object.setPrototypeOf;
  const ObjectFreeze = Object.freeze;
  const ObjectIsExtensible = Object.isExtensible;
  const ObjectPrototypeToString = uncurryThis(Object.prototype.toString);
  const ReflectApply = Reflect.apply;
  const ReflectOwnKeys = Reflect.ownKeys;
  const MathMin = Math.min;
  const MathMax = Math.max;
  const MathFloor = Math.floor;
  const MathRandom = Math.random;
  const MathRound = Math.round;
  const MathSqrt = Math.sqrt;
  const NumberIsNaN = Number.isNaN;
  const NumberParseInt = Number.parseInt;
  const NumberParseFloat = Number.parseFloat;
  const NumberPrototypeToString = uncurryThis(Number.prototype.toString);
  const NumberPrototypeToFixed = uncurryThis(Number.prototype.toFixed);
  const NumberPrototypeValueOf = uncurryThis(Number.prototype.valueOf);
  const StringPrototypeValueOf = uncurryThis(String.prototype.valueOf);
  const BooleanPrototypeValueOf = uncurryThis(Boolean.prototype.valueOf);
  const SymbolPrototypeValueOf = uncurryThis(Symbol.prototype.valueOf);
  const SymbolPrototypeToString = uncurryThis(Symbol.prototype.toString);
  const BigIntPrototypeValueOf = typeof BigInt === 'function' ? uncurryThis(BigInt.prototype.valueOf) : undefined;
  const StringFromCharCode = String.fromCharCode;
  const StringFromCodePoint = String.fromCodePoint;
  const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
  const StringPrototypeCodePointAt = uncurryThis(String.prototype.codePointAt);
  const StringPrototypeSlice = uncurryThis(String.prototype.slice);
  const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
  const StringPrototypeLastIndexOf = uncurryThis(String.prototype.lastIndexOf);
  const StringPrototypeIncludes = uncurryThis(String.prototype.includes);
  const StringPrototypeStartsWith = uncurryThis(String.prototype.startsWith);
  const StringPrototypeEndsWith = uncurryThis(String.prototype.endsWith);
  const StringPrototypeRepeat = uncurryThis(String.prototype.repeat);
  const StringPrototypePadStart = uncurryThis(String.prototype.padStart);
  const StringPrototypePadEnd = uncurryThis(String.prototype.padEnd);
  const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
  const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
  const StringPrototypeNormalize = uncurryThis(String.prototype.normalize);
  const FunctionPrototypeToString = uncurryThis(Function.prototype.toString);
  const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
  const DatePrototypeToISOString = uncurryThis(Date.prototype.toISOString);
  const DatePrototypeToString = uncurryThis(Date.prototype.toString);
  const DateNow = Date.now;
  const ErrorCaptureStackTrace = Error.captureStackTrace;
  const ErrorPrototype = Error.prototype;
  const SymbolIterator = Symbol.iterator;
  const SymbolToStringTag = Symbol.toStringTag;
  const getterOf = (object, key) => { const d = ObjectGetOwnPropertyDescriptor(object, key); return d && d.get ? uncurryThis(d.get) : undefined; };
  const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
  const TypedArrayPrototypeGetTag = getterOf(TypedArrayPrototype, Symbol.toStringTag);
  const TypedArrayPrototypeGetLength = getterOf(TypedArrayPrototype, 'length');
  const TypedArrayPrototypeGetBuffer = getterOf(TypedArrayPrototype, 'buffer');
  const TypedArrayPrototypeGetByteOffset = getterOf(TypedArrayPrototype, 'byteOffset');
  const TypedArrayPrototypeGetByteLength = getterOf(TypedArrayPrototype, 'byteLength');
  const TypedArrayPrototypeSet = uncurryThis(TypedArrayPrototype.set);
  const TypedArrayPrototypeSubarray = uncurryThis(TypedArrayPrototype.subarray);
  const ArrayBufferPrototypeGetByteLength = getterOf(ArrayBuffer.prototype, 'byteLength');
  const SharedArrayBufferPrototypeGetByteLength = SharedArrayBufferCtor ? getterOf(SharedArrayBufferCtor.prototype, 'byteLength') : undefined;
  const DataViewPrototypeGetByteLength = getterOf(DataView.prototype, 'byteLength');
  const DataViewPrototypeGetByteOffset = getterOf(DataView.prototype, 'byteOffset');
  const DataViewPrototypeGetBuffer = getterOf(DataView.prototype, 'buffer');
  const MapPrototypeGetSize = getterOf(Map.prototype, 'size');
  const MapPrototypeEntries = uncurryThis(Map.prototype.entries);
  const MapPrototypeGet = uncurryThis(Map.prototype.get);
  const MapPrototypeSet = uncurryThis(Map.prototype.set);
  const MapPrototypeHas = uncurryThis(Map.prototype.has);
  const MapPrototypeDelete = uncurryThis(Map.prototype.delete);
  const MapIteratorNext = uncurryThis(ObjectGetPrototypeOf(new Map().entries()).next);
  const SetPrototypeGetSize = getterOf(Set.prototype, 'size');
  const SetPrototypeValues = uncurryThis(Set.prototype.values);
  const SetIteratorNext = uncurryThis(ObjectGetPrototypeOf(new Set().values()).next);
  const WeakMapPrototypeHas = uncurryThis(WeakMap.prototype.has);
  const WeakMapPrototypeGet = uncurryThis(WeakMap.prototype.get);
  const WeakMapPrototypeSet = uncurryThis(WeakMap.prototype.set);
  const WeakSetPrototypeHas = uncurryThis(WeakSet.prototype.has);
  const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);
  const RegExpPrototypeGetSource = getterOf(RegExp.prototype, 'source');
  const regExpFlagGetters = [];
  {
    const flagNames = [['hasIndices', 'd'], ['global', 'g'], ['ignoreCase', 'i'], ['multiline', 'm'],
      ['dotAll', 's'], ['unicode', 'u'], ['unicodeSets', 'v'], ['sticky', 'y']];
    for (let i = 0; i < flagNames.length; i++) {
      const getter = getterOf(RegExp.prototype, flagNames[i][0]);
      if (getter) ArrayPrototypePush(regExpFlagGetters, [getter, flagNames[i][1]]);
    }
  }
  const GeneratorFunctionPrototype = ObjectGetPrototypeOf(function* () {});
  const AsyncFunctionPrototype = ObjectGetPrototypeOf(async function () {});
  const AsyncGeneratorFunctionPrototype = ObjectGetPrototypeOf(async function* () {});
  const errorStackGetter = (() => {
    const d = ObjectGetOwnPropertyDescriptor(new ErrorCtor('x'), 'stack');
    return d && typeof d.get === 'function' ? d.get : undefined;
  })();
  const nativePrint = native.print;
  const nativeNow = native.now;
  const nativeStructuredClone = native.structuredClone;
  const nativeIsProxy = native.isProxy;
  const nativeProxyTarget = native.proxyTarget;
  const nativePromiseState = native.promiseState;
  const nativeUtf8Encode = native.utf8Encode;
  const nativeUtf8Decode = native.utf8Decode;
  const nativeHostCall = native.hostCall;

  function define(target, name, value) {
    ObjectDefineProperty(target, name, { __proto__: null, value, writable: true, enumerable: false, configurable: true });
  }
  function defineGetter(target, name, get, set) {
    ObjectDefineProperty(target, name, { __proto__: null, get, set, enumerable: true, configurable: true });
  }
  // Lists with a null prototype: element writes never reach a setter a guest put on
  // Array.prototype or Object.prototype.
  function list() {
    const array = [];
    ObjectSetPrototypeOf(array, null);
    return array;
  }
  function push(array, value) { array[array.length] = value; }
  function join(array, separator) { return ArrayPrototypeJoin(array, separator); }
  function indexOfIdentity(array, value) {
    for (let i = 0; i < array.length; i++) if (array[i] === value) return i;
    return -1;
  }
  function brand(getter, value) {
    if (getter === undefined) return false;
    try { getter(value); return true; } catch { return false; }
  }
  // Defines the globals `names` with the values `install()` returns. In a lean context (the one
  // new stateful heaps start from) they are placeholders until a program first reads one: a heap
  // that never uses URL or WASI then skips their hundreds of objects in every snapshot it makes.
  // A placeholder the guest assigned or deleted first keeps the guest's choice. `install` runs at
  // most once and only with the primordials captured above, since the guest may have replaced
  // the live globals by then. A placeholder the guest froze in place stays, answering the values.
  function installWhenUsed(names, install) {
    if (!lean) {
      const values = install();
      for (let i = 0; i < names.length; i++) define(global, names[i], values[names[i]]);
      return;
    }
    const placeholders = list();
    let installed;
    const materialize = () => {
      if (installed !== undefined) return installed;
      installed = install();
      for (let i = 0; i < names.length; i++) {
        const current = ObjectGetOwnPropertyDescriptor(global, names[i]);
        if (current !== undefined && current.get === placeholders[i] && current.configurable) {
          define(global, names[i], installed[names[i]]);
        }
      }
      return installed;
    };
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const get = function () { return materialize()[name]; };
      push(placeholders, get);
      ObjectDefineProperty(global, name, {
        __proto__: null, get, set(value) { define(global, name, value); }, enumerable: false, configurable: true,
      });
    }
  }

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

  // ---- util.format -----------------------------------------------------------------------------
  function formatArgs(args) {
    const first = args[0];
    let a = 0;
    let str = '';
    let joiner = '';
    if (typeof first === 'string') {
      if (args.length === 1) return first;
      let tempStr;
      let lastPos = 0;
      for (let i = 0; i < first.length - 1; i++) {
        if (StringPrototypeCharCodeAt(first, i) === 37) { // '%'
          const nextChar = StringPrototypeCharCodeAt(first, ++i);
          if (a + 1 !== args.length) {
            switch (nextChar) {
              case 115: { // 's'
                const arg = args[++a];
                if (typeof arg === 'number') tempStr = formatNumber(arg);
                else if (typeof arg === 'bigint') tempStr = StringCtor(arg) + 'n';
                else if (typeof arg === 'symbol') tempStr = SymbolPrototypeToString(arg);
                else if (typeof arg !== 'object' || arg === null) tempStr = typeof arg === 'function' ? inspect(arg, 0) : StringCtor(arg);
                else tempStr = inspect(arg, 0);
                break;
              }
              case 106: { // 'j'
                const arg = args[++a];
                try {
                  tempStr = JSONStringify(arg);
                  if (tempStr === undefined) tempStr = 'undefined';
                } catch (error) {
                  tempStr = '[Circular]';
                  if (!(typeof error === 'object' && error !== null && dataInChain(error, 'name') === 'TypeError')) tempStr = '[unserializable]';
                }
                break;
              }
              case 100: // 'd'
              case 105: // 'i'
              case 102: { // 'f'
                const arg = args[++a];
                if (typeof arg === 'bigint') tempStr = nextChar === 102 ? formatNumber(NumberCtor(arg)) : StringCtor(arg) + 'n';
                else if (typeof arg === 'symbol') tempStr = 'NaN';
                else {
                  let primitive = arg;
                  if (typeof arg === 'object' && arg !== null) {
                    const boxed = getBoxed(arg);
                    primitive = boxed !== undefined && boxed[0] !== 'Symbol' ? boxed[1] : NaN;
                  } else if (typeof arg === 'function') primitive = NaN;
                  if (nextChar === 100) tempStr = formatNumber(NumberCtor(primitive));
                  else if (nextChar === 105) tempStr = formatNumber(NumberParseInt(primitive));
                  else tempStr = formatNumber(NumberParseFloat(primitive));
                }
                break;
              }
              case 79: // 'O'
                tempStr = inspect(args[++a]);
                break;
              case 111: // 'o'
                tempStr = inspect(args[++a], 4);
                break;
              case 99: // 'c'
                a += 1;
                tempStr = '';
                break;
              case 37: // '%'
                str += StringPrototypeSlice(first, lastPos, i);
                lastPos = i + 1;
                continue;
              default:
                continue;
            }
            if (lastPos !== i - 1) str += StringPrototypeSlice(first, lastPos, i - 1);
            str += tempStr;
            lastPos = i + 1;
          } else if (nextChar === 37) {
            str += StringPrototypeSlice(first, lastPos, i);
            lastPos = i + 1;
          }
        }
      }
      if (lastPos !== 0) {
        a++;
        joiner = ' ';
        if (lastPos < first.length) str += StringPrototypeSlice(first, lastPos);
      }
    }
    while (a < args.length) {
      const value = args[a];
      str += joiner;
      str += typeof value !== 'string' ? inspect(value) : value;
      joiner = ' ';
      a++;
    }
    return str;
  }
  function safeFormat(args) {
    try { return formatArgs(args); } catch { return '[object: inspection failed]'; }
  }

  // ---- console ---------------------------------------------------------------------------------
  let groupIndent = '';
  function print(level, text) {
    if (groupIndent !== '') text = groupIndent + indentLines(text, groupIndent);
    nativePrint(level, text);
  }
  function labelOf(label) {
    if (label === undefined) return 'default';
    return typeof label === 'symbol' ? SymbolPrototypeToString(label) : StringCtor(label);
  }
  function formatDuration(ms) {
    if (ms >= 1000) {
      if (ms >= 60000) {
        if (ms >= 3600000) return NumberPrototypeToFixed(ms / 3600000, 3) + 'h';
        return NumberPrototypeToFixed(ms / 60000, 3) + 'min';
      }
      return NumberPrototypeToFixed(ms / 1000, 3) + 's';
    }
    return NumberPrototypeToFixed(ms, 3) + 'ms';
  }
  const counts = new MapCtor();
  const timeStarts = new MapCtor();
  const console = {};
  const levels = { __proto__: null, log: 0, info: 1, warn: 2, error: 3, debug: 4 };
  for (const name in levels) {
    const level = levels[name];
    define(console, name, { [name](...args) { print(level, safeFormat(args)); } }[name]);
  }
  define(console, 'trace', function trace(...args) {
    let text = 'Trace';
    if (args.length > 0) text += ': ' + safeFormat(args);
    const holder = {};
    try {
      ErrorCaptureStackTrace(holder, trace);
      const stack = ownDesc(holder, 'stack');
      const value = stack !== undefined ? ('value' in stack ? stack.value : ReflectApply(stack.get, holder, [])) : undefined;
      if (typeof value === 'string') {
        const nl = StringPrototypeIndexOf(value, '\n');
        if (nl !== -1) text += StringPrototypeSlice(value, nl);
      }
    } catch { /* no stack */ }
    print(4, text);
  });
  define(console, 'dir', function dir(value) { print(0, inspect(value)); });
  define(console, 'dirxml', function dirxml(...args) { print(0, safeFormat(args)); });
  define(console, 'table', function table(...args) { print(0, safeFormat(args)); });
  define(console, 'assert', function assert(condition, ...args) {
    if (condition) return;
    if (args.length > 0 && typeof args[0] === 'string') {
      args[0] = 'Assertion failed: ' + args[0];
    } else {
      ArrayPrototypeSplice(args, 0, 0, 'Assertion failed');
    }
    print(3, safeFormat(args));
  });
  define(console, 'count', function count(label) {
    label = labelOf(label);
    const value = (MapPrototypeGet(counts, label) || 0) + 1;
    MapPrototypeSet(counts, label, value);
    print(1, label + ': ' + value);
  });
  define(console, 'countReset', function countReset(label) {
    label = labelOf(label);
    if (!MapPrototypeHas(counts, label)) { print(2, "Count for '" + label + "' does not exist"); return; }
    MapPrototypeDelete(counts, label);
  });
  define(console, 'time', function time(label) {
    label = labelOf(label);
    if (MapPrototypeHas(timeStarts, label)) { print(2, "Warning: Label '" + label + "' already exists for console.time()"); return; }
    MapPrototypeSet(timeStarts, label, nativeNow());
  });
  function timeLogImpl(name, label, args, end) {
    label = labelOf(label);
    if (!MapPrototypeHas(timeStarts, label)) { print(2, "Warning: No such label '" + label + "' for console." + name + '()'); return; }
    const elapsed = nativeNow() - MapPrototypeGet(timeStarts, label);
    if (end) MapPrototypeDelete(timeStarts, label);
    let text = label + ': ' + formatDuration(elapsed);
    if (args.length > 0) text += ' ' + safeFormat(args);
    print(1, text);
  }
  define(console, 'timeEnd', function timeEnd(label) { timeLogImpl('timeEnd', label, [], true); });
  define(console, 'timeLog', function timeLog(label, ...args) { timeLogImpl('timeLog', label, args, false); });
  define(console, 'group', function group(...args) {
    if (args.length > 0) print(0, safeFormat(args));
    groupIndent += '  ';
  });
  define(console, 'groupCollapsed', function groupCollapsed(...args) {
    if (args.length > 0) print(0, safeFormat(args));
    groupIndent += '  ';
  });
  define(console, 'groupEnd', function groupEnd() {
    groupIndent = StringPrototypeSlice(groupIndent, 0, MathMax(0, groupIndent.length - 2));
  });
  define(global, 'console', console);

  // ---- timers ----------------------------------------------------------------------------------
  let nextTimerId = 1;
  const timers = list(); // {id, due, callback, args, interval}; kept sorted by (due, id)
  function insertTimer(timer) {
    let i = timers.length;
    while (i > 0 && timers[i - 1].due > timer.due) i--;
    ArrayPrototypeSplice(timers, i, 0, timer);
  }
  function addTimer(callback, delay, args, repeat) {
    if (typeof callback !== 'function') throw new TypeErrorCtor('The "callback" argument must be a function');
    delay = typeof delay === 'number' ? delay : (typeof delay === 'symbol' ? NaN : NumberCtor(delay));
    if (!(delay >= 1 && delay <= 2147483647)) delay = 1;
    const id = nextTimerId++;
    insertTimer({ __proto__: null, id, due: nativeNow() + delay, callback, args, interval: repeat ? delay : 0 });
    return id;
  }
  function clearTimer(id) {
    if (typeof id !== 'number') return;
    for (let i = 0; i < timers.length; i++) {
      if (timers[i].id === id) { ArrayPrototypeSplice(timers, i, 1); return; }
    }
  }
  define(global, 'setTimeout', function setTimeout(callback, delay, ...args) { return addTimer(callback, delay, args, false); });
  define(global, 'setInterval', function setInterval(callback, delay, ...args) { return addTimer(callback, delay, args, true); });
  define(global, 'clearTimeout', function clearTimeout(id) { clearTimer(id); });
  define(global, 'clearInterval', function clearInterval(id) { clearTimer(id); });

  // ---- queueMicrotask / structuredClone --------------------------------------------------------
  // An async function awaits without consulting anything a guest can patch (Promise.prototype.then,
  // Promise[Symbol.species], ...).
  async function runMicrotask(callback) {
    await undefined;
    ReflectApply(callback, undefined, []);
  }
  define(global, 'queueMicrotask', function queueMicrotask(callback) {
    if (typeof callback !== 'function') throw new TypeErrorCtor('The "callback" argument must be of type function');
    runMicrotask(callback);
  });
  define(global, 'structuredClone', function structuredClone(value, options) {
    if (arguments.length === 0) throw new TypeErrorCtor('The "value" argument must be specified');
    return nativeStructuredClone(value);
  });

  // ---- DOMException ----------------------------------------------------------------------------
  const domExceptionCodes = {
    __proto__: null,
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  class DOMException extends ErrorCtor {
    #name;
    constructor(message = '', options = 'Error') {
      super(message === undefined ? '' : StringCtor(message));
      let name = 'Error';
      if (typeof options === 'object' && options !== null) {
        const n = options.name;
        name = n === undefined ? 'Error' : StringCtor(n);
        if ('cause' in options) define(this, 'cause', options.cause);
      } else if (options !== undefined) {
        name = StringCtor(options);
      }
      this.#name = name;
      try { ErrorCaptureStackTrace(this, DOMException); } catch { /* no stack */ }
    }
    get name() { return this.#name; }
    get code() { return domExceptionCodes[this.#name] || 0; }
  }
  {
    const names = ReflectOwnKeys(domExceptionCodes);
    for (let i = 0; i < names.length; i++) {
      const constantName = StringPrototypeToUpperCase(names[i]);
      void constantName;
    }
    const legacy = [['INDEX_SIZE_ERR', 1], ['DOMSTRING_SIZE_ERR', 2], ['HIERARCHY_REQUEST_ERR', 3], ['WRONG_DOCUMENT_ERR', 4],
      ['INVALID_CHARACTER_ERR', 5], ['NO_DATA_ALLOWED_ERR', 6], ['NO_MODIFICATION_ALLOWED_ERR', 7], ['NOT_FOUND_ERR', 8],
      ['NOT_SUPPORTED_ERR', 9], ['INUSE_ATTRIBUTE_ERR', 10], ['INVALID_STATE_ERR', 11], ['SYNTAX_ERR', 12],
      ['INVALID_MODIFICATION_ERR', 13], ['NAMESPACE_ERR', 14], ['INVALID_ACCESS_ERR', 15], ['VALIDATION_ERR', 16],
      ['TYPE_MISMATCH_ERR', 17], ['SECURITY_ERR', 18], ['NETWORK_ERR', 19], ['ABORT_ERR', 20], ['URL_MISMATCH_ERR', 21],
      ['QUOTA_EXCEEDED_ERR', 22], ['TIMEOUT_ERR', 23], ['INVALID_NODE_TYPE_ERR', 24], ['DATA_CLONE_ERR', 25]];
    for (let i = 0; i < legacy.length; i++) {
      const d = { __proto__: null, value: legacy[i][1], writable: false, enumerable: true, configurable: false };
      ObjectDefineProperty(DOMException, legacy[i][0], d);
      ObjectDefineProperty(DOMException.prototype, legacy[i][0], d);
    }
    ObjectDefineProperty(DOMException.prototype, Symbol.toStringTag, { __proto__: null, value: 'DOMException', configurable: true });
  }
  define(global, 'DOMException', DOMException);

  // ---- atob / btoa -----------------------------------------------------------------------------
  const base64Chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const base64Values = list();
  for (let i = 0; i < 128; i++) base64Values[i] = -1;
  for (let i = 0; i < 64; i++) base64Values[StringPrototypeCharCodeAt(base64Chars, i)] = i;
  function invalidCharacter(message) { return new DOMException(message, 'InvalidCharacterError'); }
  define(global, 'btoa', function btoa(data) {
    if (arguments.length === 0) throw new TypeErrorCtor('The "data" argument must be specified');
    data = typeof data === 'symbol' ? SymbolPrototypeToString(data) : StringCtor(data);
    const length = data.length;
    for (let i = 0; i < length; i++) {
      if (StringPrototypeCharCodeAt(data, i) > 0xff) throw invalidCharacter('Invalid character');
    }
    const parts = list();
    let chunk = '';
    for (let i = 0; i < length; i += 3) {
      const b0 = StringPrototypeCharCodeAt(data, i);
      const b1 = i + 1 < length ? StringPrototypeCharCodeAt(data, i + 1) : 0;
      const b2 = i + 2 < length ? StringPrototypeCharCodeAt(data, i + 2) : 0;
      chunk += base64Chars[b0 >> 2] + base64Chars[((b0 & 3) << 4) | (b1 >> 4)] +
        (i + 1 < length ? base64Chars[((b1 & 15) << 2) | (b2 >> 6)] : '=') +
        (i + 2 < length ? base64Chars[b2 & 63] : '=');
      if (chunk.length >= 8192) { push(parts, chunk); chunk = ''; }
    }
    push(parts, chunk);
    return join(parts, '');
  });
  define(global, 'atob', function atob(data) {
    if (arguments.length === 0) throw new TypeErrorCtor('The "data" argument must be specified');
    data = typeof data === 'symbol' ? SymbolPrototypeToString(data) : StringCtor(data);
    const values = list();
    for (let i = 0; i < data.length; i++) {
      const c = StringPrototypeCharCodeAt(data, i);
      if (c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20) continue;
      push(values, c);
    }
    let length = values.length;
    if (length % 4 === 0 && length > 0) {
      if (values[length - 1] === 61) {
        length--;
        if (values[length - 1] === 61) length--;
      }
    }
    if (length % 4 === 1) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    for (let i = 0; i < length; i++) {
      const c = values[i];
      if (c >= 128 || base64Values[c] === -1) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    }
    const parts = list();
    let chunk = '';
    let buffer = 0;
    let bits = 0;
    for (let i = 0; i < length; i++) {
      buffer = (buffer << 6) | base64Values[values[i]];
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        chunk += StringFromCharCode((buffer >> bits) & 0xff);
        if (chunk.length >= 8192) { push(parts, chunk); chunk = ''; }
      }
    }
    push(parts, chunk);
    return join(parts, '');
  });

  // ---- TextEncoder / TextDecoder -----------------------------------------------------------------
  function toUSVString(value) {
    return typeof value === 'symbol' ? SymbolPrototypeToString(value) : StringCtor(value);
  }
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      return nativeUtf8Encode(toUSVString(input));
    }
    encodeInto(source, destination) {
      source = toUSVString(source);
      if (typedArrayName(destination) !== 'Uint8Array') throw new TypeErrorCtor('The "dest" argument must be an instance of Uint8Array.');
      const available = TypedArrayPrototypeGetLength(destination);
      let read = 0;
      let written = 0;
      const length = source.length;
      while (read < length) {
        let c = StringPrototypeCharCodeAt(source, read);
        let units = 1;
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = read + 1 < length ? StringPrototypeCharCodeAt(source, read + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            units = 2;
          } else {
            c = 0xfffd;
          }
        }
        const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (written + size > available) break;
        if (size === 1) {
          destination[written] = c;
        } else if (size === 2) {
          destination[written] = 0xc0 | (c >> 6);
          destination[written + 1] = 0x80 | (c & 63);
        } else if (size === 3) {
          destination[written] = 0xe0 | (c >> 12);
          destination[written + 1] = 0x80 | ((c >> 6) & 63);
          destination[written + 2] = 0x80 | (c & 63);
        } else {
          destination[written] = 0xf0 | (c >> 18);
          destination[written + 1] = 0x80 | ((c >> 12) & 63);
          destination[written + 2] = 0x80 | ((c >> 6) & 63);
          destination[written + 3] = 0x80 | (c & 63);
        }
        written += size;
        read += units;
      }
      return { read, written };
    }
  }
  ObjectDefineProperty(TextEncoder.prototype, Symbol.toStringTag, { __proto__: null, value: 'TextEncoder', configurable: true });
  define(global, 'TextEncoder', TextEncoder);

  // Bytes of a BufferSource as a Uint8Array view (no copy).
  function bytesOf(input) {
    if (typedArrayName(input) !== undefined) {
      return new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(input), TypedArrayPrototypeGetByteOffset(input), TypedArrayPrototypeGetByteLength(input));
    }
    if (brand(DataViewPrototypeGetByteLength, input)) {
      return new Uint8ArrayCtor(DataViewPrototypeGetBuffer(input), DataViewPrototypeGetByteOffset(input), DataViewPrototypeGetByteLength(input));
    }
    if (brand(ArrayBufferPrototypeGetByteLength, input) || brand(SharedArrayBufferPrototypeGetByteLength, input)) {
      return new Uint8ArrayCtor(input);
    }
    return undefined;
  }
  // Length of the valid UTF-8 prefix; `incompleteTail` is set when the bytes end inside a
  // sequence that could still be completed.
  function utf8Validate(bytes, length) {
    let i = 0;
    while (i < length) {
      const b = bytes[i];
      if (b < 0x80) { i++; continue; }
      let needed;
      let lower = 0x80;
      let upper = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) needed = 1;
      else if (b >= 0xe0 && b <= 0xef) { needed = 2; if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; }
      else if (b >= 0xf0 && b <= 0xf4) { needed = 3; if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; }
      else return { valid: i, incomplete: false };
      let j = 1;
      for (; j <= needed; j++) {
        if (i + j >= length) return { valid: i, incomplete: true };
        const c = bytes[i + j];
        if (c < (j === 1 ? lower : 0x80) || c > (j === 1 ? upper : 0xbf)) return { valid: i, incomplete: false };
      }
      i += needed + 1;
    }
    return { valid: length, incomplete: false };
  }
  // Bytes at the end that start a sequence still waiting for its continuation bytes.
  function incompleteTail(bytes, length) {
    for (let k = 1; k <= 3 && k <= length; k++) {
      const b = bytes[length - k];
      if ((b & 0xc0) === 0x80) continue;
      const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (size <= k) return 0;
      const check = utf8Validate(TypedArrayPrototypeSubarray(bytes, length - k, length), k);
      return check.valid === 0 && check.incomplete ? k : 0;
    }
    return 0;
  }
  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #pending;
    #bomSeen;
    constructor(label = 'utf-8', options = undefined) {
      let encoding = StringPrototypeToLowerCase(toUSVString(label));
      let start = 0;
      let end = encoding.length;
      const isSpace = (c) => c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;
      while (start < end && isSpace(StringPrototypeCharCodeAt(encoding, start))) start++;
      while (end > start && isSpace(StringPrototypeCharCodeAt(encoding, end - 1))) end--;
      encoding = StringPrototypeSlice(encoding, start, end);
      if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'unicode-1-1-utf-8' &&
          encoding !== 'unicode11utf8' && encoding !== 'unicode20utf8' && encoding !== 'x-unicode20utf8') {
        throw new RangeErrorCtor('The "' + encoding + '" encoding is not supported');
      }
      let fatal = false;
      let ignoreBOM = false;
      if (options !== undefined && options !== null) {
        if (typeof options !== 'object' && typeof options !== 'function') throw new TypeErrorCtor('The "options" argument must be of type object.');
        fatal = !!options.fatal;
        ignoreBOM = !!options.ignoreBOM;
      }
      this.#fatal = fatal;
      this.#ignoreBOM = ignoreBOM;
      this.#pending = undefined;
      this.#bomSeen = false;
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = undefined) {
      let bytes;
      if (input === undefined) {
        bytes = new Uint8ArrayCtor(0);
      } else {
        bytes = bytesOf(input);
        if (bytes === undefined) {
          throw new TypeErrorCtor('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView.');
        }
      }
      const stream = options !== undefined && options !== null && !!options.stream;
      if (this.#pending !== undefined) {
        const pending = this.#pending;
        const pendingLength = TypedArrayPrototypeGetLength(pending);
        const combined = new Uint8ArrayCtor(pendingLength + TypedArrayPrototypeGetLength(bytes));
        TypedArrayPrototypeSet(combined, pending, 0);
        TypedArrayPrototypeSet(combined, bytes, pendingLength);
        bytes = combined;
        this.#pending = undefined;
      }
      let length = TypedArrayPrototypeGetLength(bytes);
      if (stream) {
        const tail = incompleteTail(bytes, length);
        if (tail > 0) {
          this.#pending = new Uint8ArrayCtor(TypedArrayPrototypeSubarray(bytes, length - tail, length));
          length -= tail;
          bytes = TypedArrayPrototypeSubarray(bytes, 0, length);
        }
      }
      if (this.#fatal && utf8Validate(bytes, length).valid !== length) {
        this.#bomSeen = false;
        this.#pending = undefined;
        throw new TypeErrorCtor('The encoded data was not valid for encoding utf-8');
      }
      let text = length === 0 ? '' : nativeUtf8Decode(bytes);
      if (!this.#bomSeen && text.length > 0) {
        if (!this.#ignoreBOM && StringPrototypeCharCodeAt(text, 0) === 0xfeff) text = StringPrototypeSlice(text, 1);
        this.#bomSeen = true;
      }
      if (!stream) {
        this.#bomSeen = false;
        this.#pending = undefined;
      }
      return text;
    }
  }
  ObjectDefineProperty(TextDecoder.prototype, Symbol.toStringTag, { __proto__: null, value: 'TextDecoder', configurable: true });
  define(global, 'TextDecoder', TextDecoder);

  // ---- performance -----------------------------------------------------------------------------
  const performance = {};
  define(performance, 'now', function now() { return nativeNow(); });
  ObjectDefineProperty(performance, 'timeOrigin', { __proto__: null, get() { return DateNow() - nativeNow(); }, enumerable: true, configurable: true });
  define(performance, 'toJSON', function toJSON() { return { timeOrigin: DateNow() - nativeNow() }; });
  ObjectDefineProperty(performance, Symbol.toStringTag, { __proto__: null, value: 'Performance', configurable: true });
  define(global, 'performance', performance);

  // ---- URL / URLSearchParams (WHATWG URL) --------------------------------------------------------
  // Installed where it is first used in a lean context (see installWhenUsed). inspect asks these:
  let isURLObject = () => false;
  let isURLSearchParamsObject = () => false;
  let searchParamsEntries;
  let urlInspectEntries;
  function installURL() {
    const specialSchemes = { __proto__: null, 'ftp': 21, 'file': null, 'http': 80, 'https': 443, 'ws': 80, 'wss': 443 };
    function isSpecialScheme(scheme) { return scheme in specialSchemes; }
    const hexDigits = '0123456789ABCDEF';
    function isAsciiAlpha(c) { return (c >= 65 && c <= 90) || (c >= 97 && c <= 122); }
    function isAsciiDigit(c) { return c >= 48 && c <= 57; }
    function isAsciiHex(c) { return isAsciiDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102); }
    function hexValue(c) { return c <= 57 ? c - 48 : (c | 0x20) - 87; }
    function inC0(c) { return c < 0x20 || c > 0x7e; }
    function inFragmentSet(c) { return inC0(c) || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60; }
    function inQuerySet(c) { return inC0(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e; }
    function inSpecialQuerySet(c) { return inQuerySet(c) || c === 0x27; }
    function inPathSet(c) { return inQuerySet(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d; }
    function inUserinfoSet(c) {
      return inPathSet(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d || c === 0x40 ||
        (c >= 0x5b && c <= 0x5e) || c === 0x7c;
    }
    function percentByte(b) { return '%' + hexDigits[b >> 4] + hexDigits[b & 15]; }
    function percentEncode(str, inSet) {
      let out = '';
      const length = str.length;
      for (let i = 0; i < length; i++) {
        let c = StringPrototypeCharCodeAt(str, i);
        if (c < 0x80) { out += inSet(c) ? percentByte(c) : str[i]; continue; }
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < length ? StringPrototypeCharCodeAt(str, i + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00); i++; } else c = 0xfffd;
        }
        if (c < 0x800) out += percentByte(0xc0 | (c >> 6)) + percentByte(0x80 | (c & 63));
        else if (c < 0x10000) out += percentByte(0xe0 | (c >> 12)) + percentByte(0x80 | ((c >> 6) & 63)) + percentByte(0x80 | (c & 63));
        else out += percentByte(0xf0 | (c >> 18)) + percentByte(0x80 | ((c >> 12) & 63)) + percentByte(0x80 | ((c >> 6) & 63)) + percentByte(0x80 | (c & 63));
      }
      return out;
    }
    // Percent-decodes to bytes, then UTF-8 decodes (invalid sequences become U+FFFD).
    function percentDecode(str, plusAsSpace) {
      const input = nativeUtf8Encode(str);
      const length = TypedArrayPrototypeGetLength(input);
      const out = new Uint8ArrayCtor(length);
      let n = 0;
      for (let i = 0; i < length; i++) {
        const b = input[i];
        if (b === 0x25 && i + 2 < length && isAsciiHex(input[i + 1]) && isAsciiHex(input[i + 2])) {
          out[n++] = (hexValue(input[i + 1]) << 4) | hexValue(input[i + 2]);
          i += 2;
        } else {
          out[n++] = plusAsSpace && b === 0x2b ? 0x20 : b;
        }
      }
      return n === 0 ? '' : nativeUtf8Decode(TypedArrayPrototypeSubarray(out, 0, n));
    }

    // Punycode (RFC 3492) for internationalized domain labels.
    function punycodeEncode(input) {
      const codePoints = list();
      for (let i = 0; i < input.length; i++) {
        const c = StringPrototypeCodePointAt(input, i);
        if (c > 0xffff) i++;
        push(codePoints, c);
      }
      let output = '';
      for (let i = 0; i < codePoints.length; i++) if (codePoints[i] < 0x80) output += StringFromCharCode(codePoints[i]);
      const basicLength = output.length;
      let handled = basicLength;
      if (basicLength > 0) output += '-';
      let n = 128;
      let delta = 0;
      let bias = 72;
      const digit = (d) => StringFromCharCode(d + 22 + 75 * (d < 26));
      const adapt = (delta, numPoints, firstTime) => {
        let k = 0;
        delta = firstTime ? MathFloor(delta / 700) : delta >> 1;
        delta += MathFloor(delta / numPoints);
        for (; delta > 455; k += 36) delta = MathFloor(delta / 35);
        return MathFloor(k + 36 * delta / (delta + 38));
      };
      while (handled < codePoints.length) {
        let m = 0x7fffffff;
        for (let i = 0; i < codePoints.length; i++) if (codePoints[i] >= n && codePoints[i] < m) m = codePoints[i];
        delta += (m - n) * (handled + 1);
        n = m;
        for (let i = 0; i < codePoints.length; i++) {
          const c = codePoints[i];
          if (c < n) delta++;
          if (c === n) {
            let q = delta;
            for (let k = 36; ; k += 36) {
              const t = k <= bias ? 1 : (k >= bias + 26 ? 26 : k - bias);
              if (q < t) break;
              output += digit(t + (q - t) % (36 - t));
              q = MathFloor((q - t) / (36 - t));
            }
            output += digit(q);
            bias = adapt(delta, handled + 1, handled === basicLength);
            delta = 0;
            handled++;
          }
        }
        delta++;
        n++;
      }
      return output;
    }
    function isForbiddenHostCodePoint(c) {
      return c === 0 || c === 9 || c === 0xa || c === 0xd || c === 0x20 || c === 0x23 || c === 0x2f || c === 0x3a ||
        c === 0x3c || c === 0x3e || c === 0x3f || c === 0x40 || c === 0x5b || c === 0x5c || c === 0x5d || c === 0x5e || c === 0x7c;
    }
    function isForbiddenDomainCodePoint(c) { return isForbiddenHostCodePoint(c) || c <= 0x1f || c === 0x25 || c === 0x7f; }
    function domainToASCII(domain) {
      let ascii = true;
      for (let i = 0; i < domain.length; i++) if (StringPrototypeCharCodeAt(domain, i) >= 0x80) { ascii = false; break; }
      if (ascii) return StringPrototypeToLowerCase(domain);
      let normalized = StringPrototypeToLowerCase(StringPrototypeNormalize(domain, 'NFC'));
      // Full-width and ideographic dots separate labels too.
      let labelsText = '';
      for (let i = 0; i < normalized.length; i++) {
        const c = StringPrototypeCharCodeAt(normalized, i);
        labelsText += c === 0x3002 || c === 0xff0e || c === 0xff61 ? '.' : normalized[i];
      }
      normalized = labelsText;
      let result = '';
      let start = 0;
      for (;;) {
        const dot = StringPrototypeIndexOf(normalized, '.', start);
        const label = StringPrototypeSlice(normalized, start, dot === -1 ? normalized.length : dot);
        let labelAscii = true;
        for (let i = 0; i < label.length; i++) if (StringPrototypeCharCodeAt(label, i) >= 0x80) { labelAscii = false; break; }
        result += labelAscii ? label : 'xn--' + punycodeEncode(label);
        if (dot === -1) break;
        result += '.';
        start = dot + 1;
      }
      return result;
    }
    function parseIPv4Number(part) {
      if (part === '') return NaN;
      let radix = 10;
      if (part.length >= 2 && part[0] === '0' && (part[1] === 'x' || part[1] === 'X')) { radix = 16; part = StringPrototypeSlice(part, 2); }
      else if (part.length >= 2 && part[0] === '0') { radix = 8; part = StringPrototypeSlice(part, 1); }
      if (part === '') return 0;
      let value = 0;
      for (let i = 0; i < part.length; i++) {
        const c = StringPrototypeCharCodeAt(part, i);
        let d;
        if (radix === 16) { if (!isAsciiHex(c)) return NaN; d = hexValue(c); }
        else { if (!isAsciiDigit(c)) return NaN; d = c - 48; if (d >= radix) return NaN; }
        value = value * radix + d;
      }
      return value;
    }
    function splitOn(str, ch) {
      const parts = list();
      let start = 0;
      for (;;) {
        const index = StringPrototypeIndexOf(str, ch, start);
        if (index === -1) { push(parts, StringPrototypeSlice(str, start)); return parts; }
        push(parts, StringPrototypeSlice(str, start, index));
        start = index + 1;
      }
    }
    function endsInANumber(host) {
      const parts = splitOn(host, '.');
      if (parts[parts.length - 1] === '') {
        if (parts.length === 1) return false;
        parts.length -= 1;
      }
      const last = parts[parts.length - 1];
      if (last !== '') {
        let digits = true;
        for (let i = 0; i < last.length; i++) if (!isAsciiDigit(StringPrototypeCharCodeAt(last, i))) { digits = false; break; }
        if (digits) return true;
      }
      return !NumberIsNaN(parseIPv4Number(last)) && last.length >= 2 && last[0] === '0' && (last[1] === 'x' || last[1] === 'X');
    }
    function parseIPv4(host) {
      const parts = splitOn(host, '.');
      if (parts[parts.length - 1] === '' && parts.length > 1) parts.length -= 1;
      if (parts.length > 4) return null;
      const numbers = list();
      for (let i = 0; i < parts.length; i++) {
        const n = parseIPv4Number(parts[i]);
        if (NumberIsNaN(n)) return null;
        push(numbers, n);
      }
      for (let i = 0; i < numbers.length - 1; i++) if (numbers[i] > 255) return null;
      if (numbers[numbers.length - 1] >= 256 ** (5 - numbers.length)) return null;
      let ipv4 = numbers[numbers.length - 1];
      for (let i = 0; i < numbers.length - 1; i++) ipv4 += numbers[i] * 256 ** (3 - i);
      let out = '';
      for (let i = 0; i < 4; i++) {
        out = (ipv4 % 256) + (i === 0 ? '' : '.') + out;
        ipv4 = MathFloor(ipv4 / 256);
      }
      return out;
    }
    function parseIPv6(input) {
      const address = [0, 0, 0, 0, 0, 0, 0, 0];
      let pieceIndex = 0;
      let compress = null;
      let p = 0;
      const length = input.length;
      const at = (i) => (i < length ? StringPrototypeCharCodeAt(input, i) : -1);
      if (at(p) === 58) {
        if (at(p + 1) !== 58) return null;
        p += 2;
        pieceIndex++;
        compress = pieceIndex;
      }
      while (p < length) {
        if (pieceIndex === 8) return null;
        if (at(p) === 58) {
          if (compress !== null) return null;
          p++;
          pieceIndex++;
          compress = pieceIndex;
          continue;
        }
        let value = 0;
        let len = 0;
        while (len < 4 && isAsciiHex(at(p))) { value = value * 16 + hexValue(at(p)); p++; len++; }
        if (at(p) === 46) {
          if (len === 0) return null;
          p -= len;
          if (pieceIndex > 6) return null;
          let numbersSeen = 0;
          while (p < length) {
            let ipv4Piece = null;
            if (numbersSeen > 0) {
              if (at(p) === 46 && numbersSeen < 4) p++;
              else return null;
            }
            if (!isAsciiDigit(at(p))) return null;
            while (isAsciiDigit(at(p))) {
              const n = at(p) - 48;
              if (ipv4Piece === null) ipv4Piece = n;
              else if (ipv4Piece === 0) return null;
              else ipv4Piece = ipv4Piece * 10 + n;
              if (ipv4Piece > 255) return null;
              p++;
            }
            address[pieceIndex] = address[pieceIndex] * 256 + ipv4Piece;
            numbersSeen++;
            if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
          }
          if (numbersSeen !== 4) return null;
          break;
        } else if (at(p) === 58) {
          p++;
          if (p >= length) return null;
        } else if (p < length) {
          return null;
        }
        address[pieceIndex] = value;
        pieceIndex++;
      }
      if (compress !== null) {
        let swaps = pieceIndex - compress;
        pieceIndex = 7;
        while (pieceIndex !== 0 && swaps > 0) {
          const tmp = address[compress + swaps - 1];
          address[compress + swaps - 1] = address[pieceIndex];
          address[pieceIndex] = tmp;
          pieceIndex--;
          swaps--;
        }
      } else if (pieceIndex !== 8) {
        return null;
      }
      // Serialize, compressing the first longest run of zeros (length > 1).
      let bestStart = -1;
      let bestLength = 1;
      for (let i = 0; i < 8;) {
        if (address[i] !== 0) { i++; continue; }
        let j = i;
        while (j < 8 && address[j] === 0) j++;
        if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
        i = j;
      }
      let out = '';
      let ignore0 = false;
      for (let i = 0; i < 8; i++) {
        if (ignore0 && address[i] === 0) continue;
        ignore0 = false;
        if (bestStart === i) {
          out += i === 0 ? '::' : ':';
          ignore0 = true;
          continue;
        }
        out += NumberPrototypeToString(address[i], 16);
        if (i !== 7) out += ':';
      }
      return '[' + out + ']';
    }
    function parseHost(input, special) {
      if (input[0] === '[') {
        if (input[input.length - 1] !== ']') return null;
        return parseIPv6(StringPrototypeSlice(input, 1, -1));
      }
      if (!special) {
        for (let i = 0; i < input.length; i++) if (isForbiddenHostCodePoint(StringPrototypeCharCodeAt(input, i))) return null;
        return percentEncode(input, inC0);
      }
      const domain = percentDecode(input, false);
      const ascii = domainToASCII(domain);
      if (ascii === '') return null;
      for (let i = 0; i < ascii.length; i++) if (isForbiddenDomainCodePoint(StringPrototypeCharCodeAt(ascii, i))) return null;
      if (endsInANumber(ascii)) return parseIPv4(ascii);
      return ascii;
    }

    function newURLRecord(scheme) {
      return { __proto__: null, scheme, username: '', password: '', host: null, port: null, path: list(), opaque: false, query: null, fragment: null };
    }
    function copyPath(path) { const copy = list(); for (let i = 0; i < path.length; i++) push(copy, path[i]); return copy; }
    function isSlash(c, special) { return c === '/' || (special && c === '\\'); }
    function isWindowsDriveLetter(s, normalizedOnly) {
      return s.length === 2 && isAsciiAlpha(StringPrototypeCharCodeAt(s, 0)) && (s[1] === ':' || (!normalizedOnly && s[1] === '|'));
    }
    function shortenPath(url) {
      if (url.scheme === 'file' && url.path.length === 1 && isWindowsDriveLetter(url.path[0], true)) return;
      if (url.path.length > 0) url.path.length -= 1;
    }
    function isSingleDot(s) { return s === '.' || StringPrototypeToLowerCase(s) === '%2e'; }
    function isDoubleDot(s) {
      s = StringPrototypeToLowerCase(s);
      return s === '..' || s === '.%2e' || s === '%2e.' || s === '%2e%2e';
    }
    // Appends the segments of `text` (a path without its leading slash) to url.path.
    function parsePathSegments(url, text) {
      const special = isSpecialScheme(url.scheme);
      let start = 0;
      for (let i = 0; i <= text.length; i++) {
        if (i < text.length && !isSlash(text[i], special)) continue;
        const segment = StringPrototypeSlice(text, start, i);
        const last = i === text.length;
        if (isDoubleDot(segment)) {
          shortenPath(url);
          if (last) push(url.path, '');
        } else if (isSingleDot(segment)) {
          if (last) push(url.path, '');
        } else {
          let encoded = percentEncode(segment, inPathSet);
          if (url.scheme === 'file' && url.path.length === 0 && isWindowsDriveLetter(encoded, false)) encoded = encoded[0] + ':';
          push(url.path, encoded);
        }
        start = i + 1;
      }
    }
    // Splits "path?query#fragment" and stores query and fragment; returns the path part.
    function splitQueryAndFragment(url, rest) {
      const hash = StringPrototypeIndexOf(rest, '#');
      if (hash !== -1) {
        url.fragment = percentEncode(StringPrototypeSlice(rest, hash + 1), inFragmentSet);
        rest = StringPrototypeSlice(rest, 0, hash);
      }
      const question = StringPrototypeIndexOf(rest, '?');
      if (question !== -1) {
        url.query = percentEncode(StringPrototypeSlice(rest, question + 1), isSpecialScheme(url.scheme) ? inSpecialQuerySet : inQuerySet);
        rest = StringPrototypeSlice(rest, 0, question);
      }
      return rest;
    }
    function parseAuthority(url, rest) {
      const special = isSpecialScheme(url.scheme);
      let end = 0;
      while (end < rest.length) {
        const c = rest[end];
        if (c === '/' || c === '?' || c === '#' || (special && c === '\\')) break;
        end++;
      }
      let authority = StringPrototypeSlice(rest, 0, end);
      const remainder = StringPrototypeSlice(rest, end);
      const at = StringPrototypeLastIndexOf(authority, '@');
      if (at !== -1) {
        const userinfo = StringPrototypeSlice(authority, 0, at);
        authority = StringPrototypeSlice(authority, at + 1);
        const colon = StringPrototypeIndexOf(userinfo, ':');
        url.username = percentEncode(colon === -1 ? userinfo : StringPrototypeSlice(userinfo, 0, colon), inUserinfoSet);
        url.password = colon === -1 ? '' : percentEncode(StringPrototypeSlice(userinfo, colon + 1), inUserinfoSet);
        if (authority === '') return null;
      }
      if (!setHostAndPort(url, authority, true)) return null;
      return remainder;
    }
    function setHostAndPort(url, authority, allowPort) {
      const special = isSpecialScheme(url.scheme);
      let hostText = authority;
      let portText = null;
      let inBrackets = false;
      for (let i = 0; i < authority.length; i++) {
        const c = authority[i];
        if (c === '[') inBrackets = true;
        else if (c === ']') inBrackets = false;
        else if (c === ':' && !inBrackets) {
          hostText = StringPrototypeSlice(authority, 0, i);
          portText = StringPrototypeSlice(authority, i + 1);
          break;
        }
      }
      if (hostText === '') {
        if (special || portText !== null || url.username !== '' || url.password !== '') return false;
        url.host = '';
        return true;
      }
      const host = parseHost(hostText, special);
      if (host === null) return false;
      let port = null;
      if (portText !== null && portText !== '') {
        if (!allowPort) return false;
        for (let i = 0; i < portText.length; i++) if (!isAsciiDigit(StringPrototypeCharCodeAt(portText, i))) return false;
        port = NumberCtor(portText);
        if (port > 65535) return false;
        if (specialSchemes[url.scheme] === port) port = null;
      }
      url.host = host;
      url.port = port;
      return true;
    }
    function parseAfterHost(url, rest) {
      const special = isSpecialScheme(url.scheme);
      rest = splitQueryAndFragment(url, rest);
      if (rest === '') {
        if (special) push(url.path, '');
        return url;
      }
      parsePathSegments(url, isSlash(rest[0], special) ? StringPrototypeSlice(rest, 1) : rest);
      return url;
    }
    function parseFile(url, rest, base) {
      url.host = '';
      if (rest.length >= 2 && isSlash(rest[0], true) && isSlash(rest[1], true)) {
        rest = StringPrototypeSlice(rest, 2);
        let end = 0;
        while (end < rest.length && rest[end] !== '/' && rest[end] !== '\\' && rest[end] !== '?' && rest[end] !== '#') end++;
        const hostText = StringPrototypeSlice(rest, 0, end);
        if (isWindowsDriveLetter(hostText, false)) {
          // "file://C:/x": the drive letter is the first path segment.
          return parseAfterHost(url, '/' + rest);
        }
        if (hostText !== '') {
          const host = parseHost(hostText, true);
          if (host === null) return null;
          url.host = host === 'localhost' ? '' : host;
        }
        return parseAfterHost(url, StringPrototypeSlice(rest, end));
      }
      if (rest.length >= 1 && isSlash(rest[0], true)) {
        if (base !== null && base.scheme === 'file') {
          url.host = base.host;
          const first = base.path.length > 0 ? base.path[0] : '';
          const restText = StringPrototypeSlice(rest, 1);
          if (isWindowsDriveLetter(first, true) && !isWindowsDriveLetter(StringPrototypeSlice(restText, 0, 2), false)) push(url.path, first);
        }
        return parseAfterHost(url, rest);
      }
      if (base !== null && base.scheme === 'file') {
        url.host = base.host;
        if (rest === '' || rest[0] === '?' || rest[0] === '#') {
          url.path = copyPath(base.path);
          url.query = base.query;
          if (rest === '') return url;
          if (rest[0] === '#') { url.fragment = percentEncode(StringPrototypeSlice(rest, 1), inFragmentSet); return url; }
          url.query = null;
          splitQueryAndFragment(url, rest);
          return url;
        }
        url.path = copyPath(base.path);
        if (!isWindowsDriveLetter(StringPrototypeSlice(rest, 0, 2), false)) shortenPath(url);
        else url.path = list();
      }
      rest = splitQueryAndFragment(url, rest);
      parsePathSegments(url, rest);
      return url;
    }
    function parseRelative(url, rest, base) {
      const special = isSpecialScheme(url.scheme);
      if (rest.length > 0 && isSlash(rest[0], special)) {
        if (rest.length > 1 && isSlash(rest[1], special)) {
          let start = 2;
          if (special) while (start < rest.length && isSlash(rest[start], true)) start++;
          const after = parseAuthority(url, StringPrototypeSlice(rest, start));
          return after === null ? null : parseAfterHost(url, after);
        }
        url.username = base.username; url.password = base.password; url.host = base.host; url.port = base.port;
        return parseAfterHost(url, rest);
      }
      url.username = base.username; url.password = base.password; url.host = base.host; url.port = base.port;
      url.path = copyPath(base.path);
      if (rest === '') { url.query = base.query; return url; }
      if (rest[0] === '?') { splitQueryAndFragment(url, rest); return url; }
      if (rest[0] === '#') { url.query = base.query; url.fragment = percentEncode(StringPrototypeSlice(rest, 1), inFragmentSet); return url; }
      shortenPath(url);
      rest = splitQueryAndFragment(url, rest);
      parsePathSegments(url, rest);
      return url;
    }
    function parseURL(input, base) {
      // Strip leading/trailing C0 controls and spaces; remove tabs and newlines.
      let start = 0;
      let end = input.length;
      while (start < end && StringPrototypeCharCodeAt(input, start) <= 0x20) start++;
      while (end > start && StringPrototypeCharCodeAt(input, end - 1) <= 0x20) end--;
      let text = '';
      for (let i = start; i < end; i++) {
        const c = StringPrototypeCharCodeAt(input, i);
        if (c !== 9 && c !== 10 && c !== 13) text += input[i];
      }
      let schemeEnd = -1;
      if (text.length > 0 && isAsciiAlpha(StringPrototypeCharCodeAt(text, 0))) {
        for (let i = 1; i < text.length; i++) {
          const c = StringPrototypeCharCodeAt(text, i);
          if (c === 58) { schemeEnd = i; break; }
          if (!(isAsciiAlpha(c) || isAsciiDigit(c) || c === 43 || c === 45 || c === 46)) break;
        }
      }
      if (schemeEnd !== -1) {
        const url = newURLRecord(StringPrototypeToLowerCase(StringPrototypeSlice(text, 0, schemeEnd)));
        let rest = StringPrototypeSlice(text, schemeEnd + 1);
        if (url.scheme === 'file') return parseFile(url, rest, base !== null && base.scheme === 'file' ? base : null);
        if (isSpecialScheme(url.scheme)) {
          if (base !== null && base.scheme === url.scheme && !StringPrototypeStartsWith(rest, '//')) {
            return parseRelative(url, rest, base);
          }
          let s = 0;
          while (s < rest.length && isSlash(rest[s], true)) s++;
          const after = parseAuthority(url, StringPrototypeSlice(rest, s));
          return after === null ? null : parseAfterHost(url, after);
        }
        if (StringPrototypeStartsWith(rest, '//')) {
          const after = parseAuthority(url, StringPrototypeSlice(rest, 2));
          return after === null ? null : parseAfterHost(url, after);
        }
        if (rest[0] === '/') return parseAfterHost(url, rest);
        // Opaque path.
        url.opaque = true;
        rest = splitQueryAndFragment(url, rest);
        url.path = percentEncode(rest, inC0);
        return url;
      }
      if (base === null) return null;
      if (base.opaque) {
        if (text[0] !== '#') return null;
        const url = newURLRecord(base.scheme);
        url.opaque = true;
        url.path = base.path;
        url.query = base.query;
        url.fragment = percentEncode(StringPrototypeSlice(text, 1), inFragmentSet);
        return url;
      }
      const url = newURLRecord(base.scheme);
      if (base.scheme === 'file') return parseFile(url, text, base);
      return parseRelative(url, text, base);
    }
    function serializePath(url) {
      if (url.opaque) return url.path;
      let out = '';
      for (let i = 0; i < url.path.length; i++) out += '/' + url.path[i];
      return out;
    }
    function serializeURL(url, excludeFragment) {
      let out = url.scheme + ':';
      if (url.host !== null) {
        out += '//';
        if (url.username !== '' || url.password !== '') {
          out += url.username;
          if (url.password !== '') out += ':' + url.password;
          out += '@';
        }
        out += url.host;
        if (url.port !== null) out += ':' + url.port;
      } else if (!url.opaque && url.path.length > 1 && url.path[0] === '') {
        out += '/.';
      }
      out += serializePath(url);
      if (url.query !== null) out += '?' + url.query;
      if (!excludeFragment && url.fragment !== null) out += '#' + url.fragment;
      return out;
    }
    function serializeOrigin(url) {
      if (url.scheme === 'blob') {
        const inner = parseURL(serializePath(url), null);
        if (inner !== null && (inner.scheme === 'http' || inner.scheme === 'https')) return serializeOrigin(inner);
        return 'null';
      }
      if (isSpecialScheme(url.scheme) && url.scheme !== 'file') {
        return url.scheme + '://' + url.host + (url.port !== null ? ':' + url.port : '');
      }
      return 'null';
    }

    // application/x-www-form-urlencoded
    function parseFormURLEncoded(text) {
      const result = list();
      const sequences = splitOn(text, '&');
      for (let i = 0; i < sequences.length; i++) {
        const sequence = sequences[i];
        if (sequence === '') continue;
        const eq = StringPrototypeIndexOf(sequence, '=');
        const name = eq === -1 ? sequence : StringPrototypeSlice(sequence, 0, eq);
        const value = eq === -1 ? '' : StringPrototypeSlice(sequence, eq + 1);
        push(result, [percentDecode(name, true), percentDecode(value, true)]);
      }
      return result;
    }
    function formEncode(str) {
      let out = '';
      const bytes = nativeUtf8Encode(str);
      const length = TypedArrayPrototypeGetLength(bytes);
      for (let i = 0; i < length; i++) {
        const b = bytes[i];
        if (b === 0x20) out += '+';
        else if (b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f || isAsciiDigit(b) || isAsciiAlpha(b)) out += StringFromCharCode(b);
        else out += percentByte(b);
      }
      return out;
    }
    function serializeForm(entries) {
      let out = '';
      for (let i = 0; i < entries.length; i++) {
        if (i !== 0) out += '&';
        out += formEncode(entries[i][0]) + '=' + formEncode(entries[i][1]);
      }
      return out;
    }

    function invalidURL(input) {
      const error = new TypeErrorCtor('Invalid URL');
      define(error, 'code', 'ERR_INVALID_URL');
      define(error, 'input', input);
      return error;
    }
    let urlRecordOf;
    let urlSearchParamsOf;
    let newLinkedSearchParams;
    let setSearchParamsList;

    class URLSearchParams {
      #list = list();
      #url = null;
      constructor(init = undefined) {
        if (init === undefined || init === null) return;
        if (typeof init === 'object' || typeof init === 'function') {
          if (isURLSearchParamsObject(init)) {
            const other = init.#list;
            for (let i = 0; i < other.length; i++) push(this.#list, [other[i][0], other[i][1]]);
            return;
          }
          const iteratorMethod = init[Symbol.iterator];
          if (iteratorMethod !== undefined && iteratorMethod !== null) {
            if (typeof iteratorMethod !== 'function') throw new TypeErrorCtor('Query pairs must be iterable');
            const iterator = ReflectApply(iteratorMethod, init, []);
            const next = iterator.next;
            for (;;) {
              const step = ReflectApply(next, iterator, []);
              if (step.done) break;
              const pair = step.value;
              if ((typeof pair !== 'object' && typeof pair !== 'function') || pair === null) throw new TypeErrorCtor('Each query pair must be an iterable [name, value] tuple');
              const items = list();
              const pairIteratorMethod = pair[Symbol.iterator];
              if (typeof pairIteratorMethod !== 'function') throw new TypeErrorCtor('Each query pair must be an iterable [name, value] tuple');
              const pairIterator = ReflectApply(pairIteratorMethod, pair, []);
              const pairNext = pairIterator.next;
              for (;;) {
                const item = ReflectApply(pairNext, pairIterator, []);
                if (item.done) break;
                push(items, toUSVString(item.value));
              }
              if (items.length !== 2) throw new TypeErrorCtor('Each query pair must be an iterable [name, value] tuple');
              push(this.#list, [items[0], items[1]]);
            }
            return;
          }
          const keys = ReflectOwnKeys(init);
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i];
            if (typeof key !== 'string') continue;
            const desc = ObjectGetOwnPropertyDescriptor(init, key);
            if (desc === undefined || !desc.enumerable) continue;
            push(this.#list, [key, toUSVString(init[key])]);
          }
          return;
        }
        let text = toUSVString(init);
        if (text[0] === '?') text = StringPrototypeSlice(text, 1);
        this.#list = parseFormURLEncoded(text);
      }
      #update() {
        if (this.#url === null) return;
        const record = urlRecordOf(this.#url);
        const serialized = serializeForm(this.#list);
        record.query = serialized === '' ? null : serialized;
      }
      get size() { return this.#list.length; }
      append(name, value) {
        if (arguments.length < 2) throw new TypeErrorCtor('The "name" and "value" arguments must be specified');
        push(this.#list, [toUSVString(name), toUSVString(value)]);
        this.#update();
      }
      delete(name, value = undefined) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        if (value !== undefined) value = toUSVString(value);
        const kept = list();
        for (let i = 0; i < this.#list.length; i++) {
          const entry = this.#list[i];
          if (entry[0] === name && (value === undefined || entry[1] === value)) continue;
          push(kept, entry);
        }
        this.#list = kept;
        this.#update();
      }
      get(name) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        for (let i = 0; i < this.#list.length; i++) if (this.#list[i][0] === name) return this.#list[i][1];
        return null;
      }
      getAll(name) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        const values = [];
        for (let i = 0; i < this.#list.length; i++) if (this.#list[i][0] === name) ObjectDefineProperty(values, values.length, { __proto__: null, value: this.#list[i][1], writable: true, enumerable: true, configurable: true });
        return values;
      }
      has(name, value = undefined) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        if (value !== undefined) value = toUSVString(value);
        for (let i = 0; i < this.#list.length; i++) {
          if (this.#list[i][0] === name && (value === undefined || this.#list[i][1] === value)) return true;
        }
        return false;
      }
      set(name, value) {
        if (arguments.length < 2) throw new TypeErrorCtor('The "name" and "value" arguments must be specified');
        name = toUSVString(name);
        value = toUSVString(value);
        const kept = list();
        let found = false;
        for (let i = 0; i < this.#list.length; i++) {
          const entry = this.#list[i];
          if (entry[0] === name) {
            if (found) continue;
            found = true;
            push(kept, [name, value]);
          } else {
            push(kept, entry);
          }
        }
        if (!found) push(kept, [name, value]);
        this.#list = kept;
        this.#update();
      }
      sort() {
        // Stable insertion sort by code units of the names.
        const entries = this.#list;
        for (let i = 1; i < entries.length; i++) {
          const entry = entries[i];
          let j = i;
          while (j > 0 && entries[j - 1][0] > entry[0]) { entries[j] = entries[j - 1]; j--; }
          entries[j] = entry;
        }
        this.#update();
      }
      forEach(callback, thisArg = undefined) {
        if (typeof callback !== 'function') throw new TypeErrorCtor('The "callback" argument must be of type function');
        for (let i = 0; i < this.#list.length; i++) {
          const entry = this.#list[i];
          ReflectApply(callback, thisArg, [entry[1], entry[0], this]);
        }
      }
      keys() { return makeParamsIterator(this.#list, 0); }
      values() { return makeParamsIterator(this.#list, 1); }
      entries() { return makeParamsIterator(this.#list, 2); }
      toString() { return serializeForm(this.#list); }
      static {
        isURLSearchParamsObject = (value) => { try { return #list in value; } catch { return false; } };
        searchParamsEntries = (params) => params.#list;
        newLinkedSearchParams = (url, query) => {
          const params = new URLSearchParams();
          params.#list = query === null ? list() : parseFormURLEncoded(query);
          params.#url = url;
          return params;
        };
        setSearchParamsList = (params, query) => { params.#list = query === null ? list() : parseFormURLEncoded(query); };
      }
    }
    // Iterators read the live list by position, like the spec's "value pairs to iterate".
    const ParamsIteratorPrototype = ObjectSetPrototypeOf({}, ObjectGetPrototypeOf(ObjectGetPrototypeOf([][SymbolIterator]())));
    const paramsIteratorState = new WeakMapCtor();
    function makeParamsIterator(entries, kind) {
      const iterator = ObjectSetPrototypeOf({}, ParamsIteratorPrototype);
      WeakMapPrototypeSet(paramsIteratorState, iterator, { __proto__: null, entries, kind, index: 0 });
      return iterator;
    }
    define(ParamsIteratorPrototype, 'next', function next() {
      const state = WeakMapPrototypeGet(paramsIteratorState, this);
      if (state === undefined) throw new TypeErrorCtor('Value of "this" must be of type URLSearchParamsIterator');
      if (state.index >= state.entries.length) return { value: undefined, done: true };
      const entry = state.entries[state.index++];
      const value = state.kind === 0 ? entry[0] : state.kind === 1 ? entry[1] : [entry[0], entry[1]];
      return { value, done: false };
    });
    ObjectDefineProperty(ParamsIteratorPrototype, SymbolToStringTag, { __proto__: null, value: 'URLSearchParams Iterator', configurable: true });
    define(URLSearchParams.prototype, SymbolIterator, URLSearchParams.prototype.entries);
    ObjectDefineProperty(URLSearchParams.prototype, SymbolToStringTag, { __proto__: null, value: 'URLSearchParams', configurable: true });

    class URL {
      #url;
      #searchParams = null;
      constructor(url, base = undefined) {
        if (arguments.length === 0) throw new TypeErrorCtor('The "url" argument must be specified');
        const input = toUSVString(url);
        let baseRecord = null;
        if (base !== undefined) {
          baseRecord = parseURL(toUSVString(base), null);
          if (baseRecord === null) throw invalidURL(input);
        }
        const record = parseURL(input, baseRecord);
        if (record === null) throw invalidURL(input);
        this.#url = record;
      }
      static canParse(url, base = undefined) {
        try {
          let baseRecord = null;
          if (base !== undefined) {
            baseRecord = parseURL(toUSVString(base), null);
            if (baseRecord === null) return false;
          }
          return parseURL(toUSVString(url), baseRecord) !== null;
        } catch {
          return false;
        }
      }
      get href() { return serializeURL(this.#url, false); }
      set href(value) {
        const input = toUSVString(value);
        const record = parseURL(input, null);
        if (record === null) throw invalidURL(input);
        this.#url = record;
        if (this.#searchParams !== null) setSearchParamsList(this.#searchParams, record.query);
      }
      get origin() { return serializeOrigin(this.#url); }
      get protocol() { return this.#url.scheme + ':'; }
      set protocol(value) {
        let text = toUSVString(value);
        const colon = StringPrototypeIndexOf(text, ':');
        if (colon !== -1) text = StringPrototypeSlice(text, 0, colon);
        if (text === '' || !isAsciiAlpha(StringPrototypeCharCodeAt(text, 0))) return;
        for (let i = 1; i < text.length; i++) {
          const c = StringPrototypeCharCodeAt(text, i);
          if (!(isAsciiAlpha(c) || isAsciiDigit(c) || c === 43 || c === 45 || c === 46)) return;
        }
        const scheme = StringPrototypeToLowerCase(text);
        const url = this.#url;
        if (isSpecialScheme(url.scheme) !== isSpecialScheme(scheme)) return;
        if ((url.username !== '' || url.password !== '' || url.port !== null) && scheme === 'file') return;
        if (url.scheme === 'file' && url.host === '') return;
        url.scheme = scheme;
        if (url.port !== null && specialSchemes[scheme] === url.port) url.port = null;
      }
      get username() { return this.#url.username; }
      set username(value) {
        const url = this.#url;
        if (url.host === null || url.host === '' || url.scheme === 'file') return;
        url.username = percentEncode(toUSVString(value), inUserinfoSet);
      }
      get password() { return this.#url.password; }
      set password(value) {
        const url = this.#url;
        if (url.host === null || url.host === '' || url.scheme === 'file') return;
        url.password = percentEncode(toUSVString(value), inUserinfoSet);
      }
      get host() {
        const url = this.#url;
        if (url.host === null) return '';
        return url.port === null ? url.host : url.host + ':' + url.port;
      }
      set host(value) { this.#setHost(toUSVString(value), true); }
      get hostname() { return this.#url.host === null ? '' : this.#url.host; }
      set hostname(value) { this.#setHost(toUSVString(value), false); }
      #setHost(text, withPort) {
        const url = this.#url;
        if (url.opaque) return;
        const special = isSpecialScheme(url.scheme);
        let end = 0;
        while (end < text.length && text[end] !== '/' && text[end] !== '?' && text[end] !== '#' && !(special && text[end] === '\\')) end++;
        text = StringPrototypeSlice(text, 0, end);
        if (!withPort) {
          let inBrackets = false;
          for (let i = 0; i < text.length; i++) {
            if (text[i] === '[') inBrackets = true;
            else if (text[i] === ']') inBrackets = false;
            else if (text[i] === ':' && !inBrackets) return;
          }
        }
        if (text === '' && special) return;
        const copy = newURLRecord(url.scheme);
        copy.port = url.port;
        let hostText = text;
        let portText = null;
        let inBrackets = false;
        for (let i = 0; i < text.length; i++) {
          if (text[i] === '[') inBrackets = true;
          else if (text[i] === ']') inBrackets = false;
          else if (text[i] === ':' && !inBrackets) { hostText = StringPrototypeSlice(text, 0, i); portText = StringPrototypeSlice(text, i + 1); break; }
        }
        if (hostText === '' && special) return;
        if (hostText === '') { url.host = ''; return; }
        const host = parseHost(hostText, special);
        if (host === null) return;
        url.host = url.scheme === 'file' && host === 'localhost' ? '' : host;
        if (portText !== null && portText !== '') this.port = portText;
      }
      get port() { return this.#url.port === null ? '' : '' + this.#url.port; }
      set port(value) {
        const url = this.#url;
        if (url.host === null || url.host === '' || url.scheme === 'file') return;
        const text = toUSVString(value);
        if (text === '') { url.port = null; return; }
        let digits = 0;
        while (digits < text.length && isAsciiDigit(StringPrototypeCharCodeAt(text, digits))) digits++;
        if (digits === 0) return;
        const port = NumberCtor(StringPrototypeSlice(text, 0, digits));
        if (port > 65535) return;
        url.port = specialSchemes[url.scheme] === port ? null : port;
      }
      get pathname() { return serializePath(this.#url); }
      set pathname(value) {
        const url = this.#url;
        if (url.opaque) return;
        let text = toUSVString(value);
        let cleaned = '';
        for (let i = 0; i < text.length; i++) {
          const c = StringPrototypeCharCodeAt(text, i);
          if (c !== 9 && c !== 10 && c !== 13) cleaned += text[i];
        }
        text = cleaned;
        url.path = list();
        const special = isSpecialScheme(url.scheme);
        if (text === '') { if (special) push(url.path, ''); return; }
        // '?' and '#' are part of the path here.
        let escaped = '';
        for (let i = 0; i < text.length; i++) escaped += text[i] === '?' ? '%3F' : text[i] === '#' ? '%23' : text[i];
        parsePathSegments(url, isSlash(escaped[0], special) ? StringPrototypeSlice(escaped, 1) : escaped);
      }
      get search() {
        const query = this.#url.query;
        return query === null || query === '' ? '' : '?' + query;
      }
      set search(value) {
        const url = this.#url;
        let text = toUSVString(value);
        if (text === '') {
          url.query = null;
        } else {
          if (text[0] === '?') text = StringPrototypeSlice(text, 1);
          url.query = percentEncode(text, isSpecialScheme(url.scheme) ? inSpecialQuerySet : inQuerySet);
        }
        if (this.#searchParams !== null) setSearchParamsList(this.#searchParams, url.query);
      }
      get searchParams() {
        if (this.#searchParams === null) this.#searchParams = newLinkedSearchParams(this, this.#url.query);
        return this.#searchParams;
      }
      get hash() {
        const fragment = this.#url.fragment;
        return fragment === null || fragment === '' ? '' : '#' + fragment;
      }
      set hash(value) {
        let text = toUSVString(value);
        if (text === '') { this.#url.fragment = null; return; }
        if (text[0] === '#') text = StringPrototypeSlice(text, 1);
        this.#url.fragment = percentEncode(text, inFragmentSet);
      }
      toString() { return serializeURL(this.#url, false); }
      toJSON() { return serializeURL(this.#url, false); }
      static {
        urlRecordOf = (url) => url.#url;
        isURLObject = (value) => { try { return #url in value; } catch { return false; } };
      }
    }
    {
      const names = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'searchParams', 'hash'];
      for (let i = 0; i < names.length; i++) {
        const desc = ObjectGetOwnPropertyDescriptor(URL.prototype, names[i]);
        desc.enumerable = true;
        ObjectDefineProperty(URL.prototype, names[i], desc);
      }
      const methods = ['toString', 'toJSON'];
      for (let i = 0; i < methods.length; i++) {
        const desc = ObjectGetOwnPropertyDescriptor(URL.prototype, methods[i]);
        desc.enumerable = true;
        ObjectDefineProperty(URL.prototype, methods[i], desc);
      }
      ObjectDefineProperty(URL.prototype, SymbolToStringTag, { __proto__: null, value: 'URL', configurable: true });
    }
    urlInspectEntries = function (value) {
      const record = urlRecordOf(value);
      const entries = list();
      const getters = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'searchParams', 'hash'];
      for (let i = 0; i < getters.length; i++) {
        const desc = ObjectGetOwnPropertyDescriptor(URL.prototype, getters[i]);
        // URL.prototype may have been patched by a guest: fall back to the record.
        const v = getters[i] === 'searchParams' ? ReflectApply(urlSearchParamsGetter, value, []) : ReflectApply(urlGetters[getters[i]], value, []);
        void desc; void record;
        push(entries, [getters[i], v]);
      }
      return entries;
    };
    const urlGetters = { __proto__: null };
    {
      const names = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
      for (let i = 0; i < names.length; i++) urlGetters[names[i]] = ObjectGetOwnPropertyDescriptor(URL.prototype, names[i]).get;
    }
    const urlSearchParamsGetter = ObjectGetOwnPropertyDescriptor(URL.prototype, 'searchParams').get;
    return { __proto__: null, URL, URLSearchParams };
  }
  installWhenUsed(['URL', 'URLSearchParams'], installURL);

  // ---- WASI preview1 ---------------------------------------------------------------------------
  // Enough of wasi_snapshot_preview1 for command-line WebAssembly programs: arguments, environment,
  // clocks, random bytes, stdout/stderr to the console, exit. There is no filesystem: every path
  // call answers EBADF/ENOTCAPABLE, as for a program given no preopened directories.
  //   const wasi = new WASI({ args: ['prog', 'x'], env: { KEY: 'value' } });
  //   const instance = new WebAssembly.Instance(module, wasi.getImportObject());
  //   wasi.start(instance);   // runs _start; returns the exit code
  function installWASI() {
    const WASI_ERRNO = { __proto__: null, success: 0, badf: 8, inval: 28, nosys: 52, notcapable: 76 };
    class WASIExit {
      constructor(code) { this.code = code; }
    }
    const wasiState = new WeakMapCtor();
    function wasiOf(self) {
      const state = wasiState.get(self);
      if (state === undefined) throw new TypeErrorCtor('Illegal invocation: not a WASI object');
      return state;
    }
    function wasiStrings(values) {
      const encoded = list();
      for (let i = 0; i < values.length; i++) ArrayPrototypePush(encoded, nativeUtf8Encode(StringCtor(values[i]) + '\0'));
      return encoded;
    }
    class WASI {
      constructor(options = {}) {
        const args = options.args === undefined ? [] : options.args;
        const env = options.env === undefined ? {} : options.env;
        if (!ArrayIsArray(args)) throw new TypeErrorCtor('WASI: options.args must be an array of strings');
        if (typeof env !== 'object' || env === null) throw new TypeErrorCtor('WASI: options.env must be an object of strings');
        const environment = list();
        const keys = ReflectOwnKeys(env);
        for (let i = 0; i < keys.length; i++) {
          if (typeof keys[i] === 'string') ArrayPrototypePush(environment, keys[i] + '=' + StringCtor(env[keys[i]]));
        }
        const state = { __proto__: null, args: wasiStrings(args), env: wasiStrings(environment), memory: null, pending: ['', '', ''] };
        wasiState.set(this, state);
        const view = () => {
          if (state.memory === null) throw new TypeErrorCtor('WASI: start(instance) first: the instance memory is unknown');
          return new DataView(state.memory.buffer);
        };
        const bytes = (pointer, length) => new Uint8ArrayCtor(state.memory.buffer, pointer, length);
        const writeStrings = (strings, pointers, buffer) => {
          const memory = view();
          for (let i = 0; i < strings.length; i++) {
            memory.setUint32(pointers + 4 * i, buffer, true);
            bytes(buffer, strings[i].length).set(strings[i]);
            buffer += strings[i].length;
          }
          return WASI_ERRNO.success;
        };
        const sizes = (strings, countPointer, sizePointer) => {
          const memory = view();
          let total = 0;
          for (let i = 0; i < strings.length; i++) total += strings[i].length;
          memory.setUint32(countPointer, strings.length, true);
          memory.setUint32(sizePointer, total, true);
          return WASI_ERRNO.success;
        };
        const print = (fd, text) => {
          // Console lines: a partial line waits for its newline (or the end of start()).
          const combined = state.pending[fd] + text;
          const end = combined.lastIndexOf('\n');
          if (end < 0) {
            state.pending[fd] = combined;
            return;
          }
          nativePrint(fd === 2 ? 3 : 0, combined.slice(0, end));
          state.pending[fd] = combined.slice(end + 1);
        };
        const imports = {
          args_get: (argv, buffer) => writeStrings(state.args, argv, buffer),
          args_sizes_get: (count, size) => sizes(state.args, count, size),
          environ_get: (environ, buffer) => writeStrings(state.env, environ, buffer),
          environ_sizes_get: (count, size) => sizes(state.env, count, size),
          clock_res_get: (id, resolution) => {
            view().setBigUint64(resolution, 1000n, true);
            return WASI_ERRNO.success;
          },
          clock_time_get: (id, precision, time) => {
            const nanoseconds = id === 0 ? BigInt(DateNow()) * 1000000n : BigInt(MathFloor(nativeNow() * 1e6));
            view().setBigUint64(time, nanoseconds, true);
            return WASI_ERRNO.success;
          },
          random_get: (buffer, length) => {
            // Math.random is not a cryptographic source; WASI programs here get no better.
            const target = bytes(buffer, length);
            for (let i = 0; i < length; i++) target[i] = MathFloor(MathRandom() * 256);
            return WASI_ERRNO.success;
          },
          fd_write: (fd, iovs, count, written) => {
            if (fd !== 1 && fd !== 2) return WASI_ERRNO.badf;
            const memory = view();
            let total = 0;
            for (let i = 0; i < count; i++) {
              const pointer = memory.getUint32(iovs + 8 * i, true);
              const length = memory.getUint32(iovs + 8 * i + 4, true);
              print(fd, nativeUtf8Decode(bytes(pointer, length)));
              total += length;
            }
            memory.setUint32(written, total, true);
            return WASI_ERRNO.success;
          },
          fd_read: (fd, iovs, count, read) => {
            if (fd !== 0) return WASI_ERRNO.badf;
            view().setUint32(read, 0, true); // stdin is empty
            return WASI_ERRNO.success;
          },
          fd_fdstat_get: (fd, stat) => {
            if (fd > 2) return WASI_ERRNO.badf;
            const memory = view();
            memory.setUint8(stat, 2); // character device
            memory.setUint16(stat + 2, 0, true);
            memory.setBigUint64(stat + 8, 0n, true);
            memory.setBigUint64(stat + 16, 0n, true);
            return WASI_ERRNO.success;
          },
          fd_close: (fd) => (fd > 2 ? WASI_ERRNO.badf : WASI_ERRNO.success),
          fd_seek: () => WASI_ERRNO.badf,
          fd_prestat_get: () => WASI_ERRNO.badf,
          fd_prestat_dir_name: () => WASI_ERRNO.badf,
          path_open: () => WASI_ERRNO.notcapable,
          poll_oneoff: () => WASI_ERRNO.nosys,
          sched_yield: () => WASI_ERRNO.success,
          proc_exit: (code) => { throw new WASIExit(code); },
        };
        state.importObject = ObjectFreeze({ __proto__: null, wasi_snapshot_preview1: ObjectFreeze({ __proto__: null, ...imports }) });
      }
      getImportObject() { return wasiOf(this).importObject; }
      // Runs the instance's _start; returns its exit code (0 when it returns without proc_exit).
      start(instance) {
        const state = wasiOf(this);
        const exports = instance && instance.exports;
        if (!exports || !(exports.memory instanceof WebAssembly.Memory) || typeof exports._start !== 'function') {
          throw new TypeErrorCtor('WASI.start: the instance must export "memory" and "_start"');
        }
        state.memory = exports.memory;
        try {
          exports._start();
          return 0;
        } catch (error) {
          if (error instanceof WASIExit) return error.code;
          throw error;
        } finally {
          for (let fd = 1; fd <= 2; fd++) {
            if (state.pending[fd] !== '') nativePrint(fd === 2 ? 3 : 0, state.pending[fd]);
            state.pending[fd] = '';
          }
        }
      }
    }
    return { __proto__: null, WASI };
  }
  installWhenUsed(['WASI'], installWASI);

  // ---- internals for the engine ----------------------------------------------------------------
  let pendingOperations = 0;
  let hookedWebAssembly = null;
  // V8 leaves Error.stackTraceLimit out of contexts made in a snapshotting isolate, which is where
  // every stateful run happens: without it errors get no `stack` (no "at main.js:3:7"). It is set
  // once per heap (this flag travels in the snapshot), so a guest that deletes it keeps its choice.
  let errorStacksEnabled = false;
  function enableErrorStacks() {
    errorStacksEnabled = true;
    if (ownDesc(ErrorCtor, 'stackTraceLimit') !== undefined) return;
    try {
      ObjectDefineProperty(ErrorCtor, 'stackTraceLimit', { __proto__: null, value: 10, writable: true, enumerable: true, configurable: true });
    } catch { /* a guest made Error non-extensible: it keeps errors without stacks */ }
  }
  // Counts `promise` as pending until it settles; returns a promise settling the same way. The
  // promise gets its own `constructor` so awaiting it consults nothing a guest could patch.
  async function trackOperation(promise) {
    pendingOperations++;
    try {
      if (nativePromiseState(promise) !== undefined) {
        ObjectDefineProperty(promise, 'constructor', { __proto__: null, value: PromiseCtor, configurable: true });
      }
      return await promise;
    } finally {
      pendingOperations--;
    }
  }
  function wrapAsync(target, name) {
    const original = target[name];
    if (typeof original !== 'function') return;
    const wrapper = {
      [name](...args) {
        // A synchronous throw stays a synchronous throw, as with the original.
        return trackOperation(ReflectApply(original, target, args));
      },
    }[name];
    ObjectDefineProperty(wrapper, 'length', { __proto__: null, value: original.length, configurable: true });
    define(target, name, wrapper);
  }
  // Host calls in flight, by id: {resolve, reject} of the promise host.call returned.
  const hostCalls = { __proto__: null };
  function capabilityHost(index) {
    return ObjectFreeze({
      __proto__: null,
      setModuleLoader(loader) {
        if (typeof loader !== 'function') throw new TypeErrorCtor('host.setModuleLoader expects a function');
        moduleLoader = loader;
      },
      call(operation, request, bytes) {
        const requestJSON = JSONStringify(request === undefined ? null : request);
        let body;
        if (bytes instanceof ArrayBufferCtor) {
          body = new Uint8ArrayCtor(bytes);
        } else if (bytes instanceof Uint8ArrayCtor) {
          body = bytes;
        } else if (bytes !== undefined && bytes !== null) {
          throw new TypeErrorCtor('host.call: bytes must be a Uint8Array or an ArrayBuffer');
        }
        return new PromiseCtor((resolve, reject) => {
          hostCalls[nativeHostCall(index, StringCtor(operation), requestJSON, body)] = { __proto__: null, resolve, reject };
        });
      },
    });
  }
  // ---- ES module imports -------------------------------------------------------------------
  // A modules capability's prelude hands over the loader: (specifier, referrer URL or null) ->
  // promise of {url, source}. The graph is loaded here, in parallel, before V8 links it; each
  // module is compiled once per run, keyed by the URL it was finally served from.
  const nativeCompileModule = native.compileModule;
  const nativeModuleRequests = native.moduleRequests;
  const nativeLinkModule = native.linkModule;
  const nativeInstantiateModule = native.instantiateModule;
  const nativeEvaluateModule = native.evaluateModule;
  const nativeModuleNamespace = native.moduleNamespace;
  let moduleLoader;
  // Per run (a handle means nothing in another run): handle -> URL, and handle -> promise of the
  // handles it imports directly; and whether the run ends in a heap snapshot, which V8 cannot
  // take (it aborts, or keeps a broken heap) once imported modules are in it.
  let moduleURLs, moduleImports, importsSnapshotted;
  function resetModules(snapshotting) {
    moduleURLs = { __proto__: null };
    moduleImports = { __proto__: null };
    importsSnapshotted = snapshotting;
  }
  // An error whose stack shows none of the runtime's frames: they are the runtime's own, and the
  // guest learns nothing from them.
  function runtimeError(message, code) {
    const error = new ErrorCtor(message);
    if (code !== undefined) error.code = code;
    ObjectDefineProperty(error, 'stack', { __proto__: null, value: 'Error: ' + message, writable: true, configurable: true });
    return error;
  }
  async function loadModule(specifier, referrer) {
    if (moduleLoader === undefined) {
      throw runtimeError('cannot import \'' + specifier + '\': module imports are not enabled on this server ' +
        '(the operator enables them with --allow-external-modules and a modules policy)', 'ERR_MODULES_DISABLED');
    }
    if (importsSnapshotted) {
      throw runtimeError('cannot import \'' + specifier + '\': stateful runs cannot import modules, because V8 ' +
        'cannot keep imported modules in a heap snapshot; import them in a --stateless server', 'ERR_MODULES_STATEFUL');
    }
    let loaded;
    try {
      loaded = await moduleLoader(specifier, referrer);
    } catch (error) {
      let message = error !== null && typeof error === 'object' && typeof error.message === 'string' ? error.message : StringCtor(error);
      if (!StringPrototypeStartsWith(message, 'cannot import ')) message = 'cannot import \'' + specifier + '\': ' + message;
      if (referrer !== null) message += ' (imported by ' + referrer + ')';
      throw runtimeError(message, error !== null && typeof error === 'object' ? error.code : undefined);
    }
    const source = loaded.source instanceof Uint8ArrayCtor ? nativeUtf8Decode(loaded.source) : loaded.source;
    const compiled = nativeCompileModule(StringCtor(loaded.url), StringCtor(source));
    if (compiled[1]) moduleURLs[compiled[0]] = StringCtor(loaded.url);
    return compiled[0];
  }
  // Starts loading what `handle` imports (once per module) and links each import as it arrives.
  function importsOf(handle) {
    if (moduleImports[handle] === undefined) {
      const specifiers = nativeModuleRequests(handle);
      const referrer = moduleURLs[handle] === undefined ? null : moduleURLs[handle];
      const loads = list();
      for (let i = 0; i < specifiers.length; i++) {
        const specifier = specifiers[i];
        push(loads, (async () => {
          const child = await loadModule(specifier, referrer);
          nativeLinkModule(handle, specifier, child);
          return child;
        })());
      }
      moduleImports[handle] = (async () => {
        const children = list();
        for (let i = 0; i < loads.length; i++) push(children, await loads[i]);
        return children;
      })();
    }
    return moduleImports[handle];
  }
  // Every module reachable from `root`, loaded and linked; cycles end where a module was seen.
  async function loadGraph(root) {
    const seen = { __proto__: null };
    const pending = list();
    const visit = (handle) => {
      if (seen[handle]) return;
      seen[handle] = true;
      push(pending, (async () => {
        const children = await importsOf(handle);
        for (let i = 0; i < children.length; i++) visit(children[i]);
      })());
    };
    visit(root);
    for (let i = 0; i < pending.length; i++) await pending[i];
  }
  async function evaluateGraph(root) {
    await loadGraph(root);
    nativeInstantiateModule(root);
    await nativeEvaluateModule(root);
  }
  async function importDynamically(specifier, referrer) {
    const handle = await loadModule(StringCtor(specifier), referrer);
    await evaluateGraph(handle);
    return nativeModuleNamespace(handle);
  }

  // A settled value has no prototype, so a guest's Object.prototype.then cannot hijack it.
  function completeHostCall(id, ok, json, bytes) {
    const pending = hostCalls[id];
    if (pending === undefined) return;
    delete hostCalls[id];
    let parsed = null;
    try {
      if (json !== null) parsed = JSONParse(json);
    } catch {
      pending.reject(new ErrorCtor('a capability answered with malformed JSON'));
      return;
    }
    if (ok) {
      pending.resolve({ __proto__: null, value: parsed, bytes });
      return;
    }
    pending.reject(runtimeError(parsed !== null && typeof parsed.message === 'string' ? parsed.message : 'the capability failed',
      parsed !== null && typeof parsed.code === 'string' ? parsed.code : undefined));
  }
  return {
    __proto__: null,
    capabilityHost,
    completeHostCall,
    loadMainModule: evaluateGraph,
    importDynamically,
    installWasmModule(name, module) {
      define(global, '__wasm_' + name, module);
      const webAssembly = global.WebAssembly;
      if (webAssembly.Module.imports(module).length === 0) define(global, name, new webAssembly.Instance(module, {}).exports);
    },
    nextTimerDelay() {
      if (timers.length === 0) return -1;
      const delay = timers[0].due - nativeNow();
      return delay > 0 ? delay : 0;
    },
    runNextDueTimer() {
      if (timers.length === 0 || timers[0].due > nativeNow()) return false;
      const timer = timers[0];
      ArrayPrototypeSplice(timers, 0, 1);
      if (timer.interval) {
        timer.due = nativeNow() + timer.interval;
        insertTimer(timer);
      }
      ReflectApply(timer.callback, global, timer.args);
      return true;
    },
    pendingOperations() { return pendingOperations; },
    unstorableReason() {
      if (ObjectIsExtensible(global)) return undefined;
      return 'The run made globalThis non-extensible (Object.freeze, Object.seal or Object.preventExtensions), ' +
        'so later runs of this heap could not install the runtime\'s globals and capabilities: the heap is not stored. ' +
        'Freeze your own objects instead of the global object.';
    },
    beginRun(snapshotting) {
      resetModules(snapshotting);
      if (snapshotting && !errorStacksEnabled) enableErrorStacks();
      const desc = ObjectGetOwnPropertyDescriptor(global, 'WebAssembly');
      const webAssembly = desc !== undefined ? desc.value : undefined;
      if (typeof webAssembly !== 'object' || webAssembly === null || webAssembly === hookedWebAssembly) return;
      hookedWebAssembly = webAssembly;
      wrapAsync(webAssembly, 'compile');
      wrapAsync(webAssembly, 'instantiate');
    },
    resultJSON(value) {
      if (value === undefined) return undefined;
      try {
        const json = JSONStringify(value);
        if (typeof json === 'string') return json;
      } catch { /* not serializable (cycle, BigInt, stack overflow): fall through to the string form */ }
      try {
        return JSONStringify(inspect(value));
      } catch {
        return '"[object: inspection failed]"';
      }
    },
    formatError(exception) {
      try {
        if ((typeof exception === 'object' || typeof exception === 'function') && exception !== null && isError(exception)) {
          const stack = errorStack(exception);
          if (stack) return stack;
          return errorToString(exception);
        }
        return 'Uncaught ' + inspect(exception);
      } catch {
        return 'Uncaught exception';
      }
    },
  };
})
