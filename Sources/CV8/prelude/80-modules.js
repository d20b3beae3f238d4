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

