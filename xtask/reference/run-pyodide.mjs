// The reference runner: runs a Python program on Pyodide under Node, through
// the same driver (crates/pyodide-entrypoint/src/driver.py) pyworkerd uses,
// so differences in output are differences between the hosts.
//
// usage: node run-pyodide.mjs --dist DIR [--mount HOST:GUEST]... [--env K=V]...
//                             (-c CODE | -m MODULE | SCRIPT | -) [ARGS...]
// Python's stdout and stderr go to ours, byte for byte; the exit status is
// Python's.
import { readFileSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const driverPath = join(here, "..", "..", "crates", "pyodide-entrypoint", "src", "driver.py");

function usage(message) {
  process.stderr.write(`run-pyodide: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let dist;
const mounts = [];
const env = {};
let request;
while (argv.length > 0) {
  const arg = argv.shift();
  if (arg === "--dist") dist = argv.shift();
  else if (arg === "--mount") {
    const [host, guest] = (argv.shift() ?? "").split(":");
    if (!host || !guest) usage("--mount takes HOST:GUEST");
    mounts.push([resolve(host), guest]);
  } else if (arg === "--env") {
    const spec = argv.shift() ?? "";
    const at = spec.indexOf("=");
    if (at <= 0) usage("--env takes K=V");
    env[spec.slice(0, at)] = spec.slice(at + 1);
  } else if (arg === "-c") request = ["code", argv.shift(), ...argv.splice(0)];
  else if (arg === "-m") request = ["module", argv.shift(), ...argv.splice(0)];
  else if (arg === "-") request = ["stdin", readFileSync(0, "utf8"), ...argv.splice(0)];
  else request = ["file", arg, ...argv.splice(0)];
}
if (!dist) usage("--dist DIR is required (the extracted npm package)");
if (!request) usage("nothing to run");

const { loadPyodide } = await import(pathToFileURL(join(resolve(dist), "pyodide.mjs")).href);
const raw = (fd) => ({
  write: (bytes) => {
    writeSync(fd, bytes);
    return bytes.length;
  },
});
const pyodide = await loadPyodide({ indexURL: resolve(dist) + "/", env, stdout: undefined });
pyodide.setStdout(raw(1));
pyodide.setStderr(raw(2));
for (const [host, guest] of mounts) {
  pyodide.FS.mkdirTree(guest);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: host }, guest);
}
const namespace = pyodide.globals.get("dict")();
pyodide.runPython(readFileSync(driverPath, "utf8"), { globals: namespace });
const reply = namespace.get("run")(request.join("\0"));
const newline = reply.indexOf("\n");
process.exitCode = Number(reply.slice(0, newline));
