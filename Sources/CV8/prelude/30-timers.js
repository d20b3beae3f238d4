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

