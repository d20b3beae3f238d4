"""A small OPA-compatible REST server for tests, deciding with the real Rego engine (regopy).

`POST /v1/data/<path>` with `{"input": doc}` answers `{"result": <value of data.<path with / as .>>}`,
leaving "result" out when the document is undefined, as OPA does. Every input it was asked about
is kept, so a test can check what reached the policy (and what never did)."""
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from regopy import Input, Interpreter


class JSONAnswers(BaseHTTPRequestHandler):
    """A quiet request handler that answers with JSON documents."""

    def answer(self, status: int, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass

DATA_PREFIX = "/v1/data/"


# Who asks, as every policy input document carries it, on a server without tenants or tokens.
ANYONE = {"tenant": None, "subject": None}


def asked_by(documents: list[dict], caller: dict = ANYONE) -> list[dict]:
    """The plugin's documents as the policy receives them: with the host's `caller`."""
    return [{**document, "caller": caller} for document in documents]


class OPAServerURL(str):
    """The server's base URL (http://127.0.0.1:PORT), with the inputs it received, oldest first."""
    inputs: list


@contextlib.contextmanager
def opa_server(rego_text_by_module_name: dict[str, str], before_deciding=None):
    """Serves the given Rego modules on 127.0.0.1 and a free port until the block ends; yields the base URL.
    `before_deciding(document)`, when given, runs before each decision (to change the world under it)."""
    interpreter = Interpreter()
    for name, text in rego_text_by_module_name.items():
        interpreter.add_module(name, text)
    # One interpreter holds one input at a time: queries take turns.
    interpreter_lock = threading.Lock()
    inputs = []

    def evaluate(path: str, document) -> dict:
        query = "data." + ".".join(path.strip("/").split("/"))
        with interpreter_lock:
            interpreter.set_input(Input(document))
            output = interpreter.query(query)
            if not output.ok():
                raise ValueError(str(output))
            text = str(output)
        return {} if text == "undefined" else {"result": json.loads(text)["expressions"][0]}

    class Handler(JSONAnswers):
        def do_POST(self):
            if not self.path.startswith(DATA_PREFIX):
                return self.answer(404, {"code": "resource_not_found", "message": f"{self.path} is not under {DATA_PREFIX}"})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                document = body.get("input")
            except (ValueError, AttributeError) as error:
                return self.answer(400, {"code": "invalid_parameter", "message": f"the body is not {{\"input\": ...}}: {error}"})
            inputs.append(document)
            if before_deciding:
                before_deciding(document)
            try:
                answer = evaluate(self.path[len(DATA_PREFIX):], document)
            except ValueError as error:
                return self.answer(500, {"code": "internal_error", "message": str(error)})
            self.answer(200, answer)

    http_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http_server.daemon_threads = True
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    url = OPAServerURL(f"http://127.0.0.1:{http_server.server_address[1]}")
    url.inputs = inputs
    try:
        yield url
    finally:
        http_server.shutdown()
        http_server.server_close()
        thread.join()
