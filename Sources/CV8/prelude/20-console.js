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

