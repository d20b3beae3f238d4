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

