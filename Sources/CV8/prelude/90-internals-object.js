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
