  // ---- performance -----------------------------------------------------------------------------
  const performance = {};
  define(performance, 'now', function now() { return nativeNow(); });
  ObjectDefineProperty(performance, 'timeOrigin', { __proto__: null, get() { return DateNow() - nativeNow(); }, enumerable: true, configurable: true });
  define(performance, 'toJSON', function toJSON() { return { timeOrigin: DateNow() - nativeNow() }; });
  ObjectDefineProperty(performance, Symbol.toStringTag, { __proto__: null, value: 'Performance', configurable: true });
  define(global, 'performance', performance);

