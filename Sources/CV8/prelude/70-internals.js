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
