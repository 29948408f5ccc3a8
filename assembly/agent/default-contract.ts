// The contract clawft.wasm uses when $CLAWFT_HOME/contract.json does not exist: a CLP contract
// descriptor (docs/clp-formats.md §Contract descriptor) in JSON, declarative rules only
// (docs/clp-rules.md). It is compiled at start like a user's contract, so copying it to
// contract.json and editing it is the way to change the policy (docs/agent-tools.md).
//
// Every tool call is the intent `tool`; its payload holds the tool's name, its arguments and
// facts computed from them, because rules have no string functions (see tools.ts):
//   tool     the tool's name             args     its arguments (strings over 1 KiB summarised)
//   session  the chat session's key      path     file tools: the workspace-relative path
//   file     the path's last segment      ext      its extension, lowercase, without the dot
//   address  clasp tools: the address     segments the path's or the address's segments
//   bytes    UTF-8 size of the content, text or encoded value being written
//
// Guards, in order (the first that denies is named to the model, with its description):
//   session_call_cap     at most maxCallsPerSession tool calls per chat session
//   no_secrets           no reading or writing of key, certificate and credential files
//   no_config_overwrite  no writing of files named like the agent's own configuration
//   write_size           write_file content of at most maxWriteBytes (1 MiB)
//   clasp_sys_readonly   no clasp_set or clasp_publish under /sys/
//   session_write_cap    at most maxWritesPerSession changing calls per chat session
// The transition `record` counts every committed call: in total, per tool, and per session
// (calls and writes), so the caps hold across runs (the state persists).

/** The default contract (JSON). */
export const DEFAULT_CONTRACT = `{
"intents": {"tool": {"inputs": {"tool": "string", "args": "object", "session": "string", "path": "string?", "file": "string?",
  "ext": "string?", "address": "string?", "segments": "string[]?", "bytes": "integer?"}}},
"constants": {
  "maxCallsPerSession": 1000, "maxWritesPerSession": 200, "maxWriteBytes": 1048576,
  "writeTools": ["write_file", "memory_write", "clasp_set", "clasp_publish"],
  "fileTools": ["read_file", "write_file"],
  "protectedNames": ["contract.json", "config.json", "config.toml"],
  "secretNames": [".env", ".netrc", ".npmrc", ".pypirc", ".git-credentials", "credentials", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"],
  "secretExts": ["pem", "key", "p12", "pfx", "jks", "keystore", "kdbx", "env"]},
"guards": [
  {"name": "session_call_cap", "description": "this chat session has used its tool calls (maxCallsPerSession)", "deny": {">=": [{"get": [{"get": [{"var": ["state.sessions", {"object": {}}]}, {"var": "payload.session"}, {"object": {}}]}, "calls", 0]}, {"var": "const.maxCallsPerSession"}]}},
  {"name": "no_secrets", "description": "key, certificate and credential files may not be read or written", "deny": {"and": [{"in": [{"var": "payload.tool"}, {"var": "const.fileTools"}]},
    {"or": [{"in": [{"var": "payload.file"}, {"var": "const.secretNames"}]}, {"in": [{"var": "payload.ext"}, {"var": "const.secretExts"}]}]}]}},
  {"name": "no_config_overwrite", "description": "files named like the agent's configuration (contract.json, config.json, config.toml) may not be written", "deny": {"and": [{"==": [{"var": "payload.tool"}, "write_file"]}, {"in": [{"var": "payload.file"}, {"var": "const.protectedNames"}]}]}},
  {"name": "write_size", "description": "write_file content is limited to maxWriteBytes (1 MiB)", "deny": {"and": [{"==": [{"var": "payload.tool"}, "write_file"]}, {">": [{"var": "payload.bytes"}, {"var": "const.maxWriteBytes"}]}]}},
  {"name": "clasp_sys_readonly", "description": "addresses under /sys/ are read-only for the agent", "deny": {"and": [{"in": [{"var": "payload.tool"}, ["clasp_set", "clasp_publish"]]}, {"==": [{"get": [{"var": "payload.segments"}, 0]}, "sys"]}]}},
  {"name": "session_write_cap", "description": "this chat session has used its changing calls (maxWritesPerSession)", "deny": {"and": [{"in": [{"var": "payload.tool"}, {"var": "const.writeTools"}]},
    {">=": [{"get": [{"get": [{"var": ["state.sessions", {"object": {}}]}, {"var": "payload.session"}, {"object": {}}]}, "writes", 0]}, {"var": "const.maxWritesPerSession"}]}]}}
],
"transitions": {"record": {"when": true, "effects": [
  {"set": ["total", {"+": [{"var": ["state.total", 0]}, 1]}]},
  {"set": [{"concat": ["tools.", {"var": "payload.tool"}]}, {"+": [{"get": [{"var": ["state.tools", {"object": {}}]}, {"var": "payload.tool"}, 0]}, 1]}]},
  {"set": [["sessions", {"var": "payload.session"}, "calls"],
    {"+": [{"get": [{"get": [{"var": ["state.sessions", {"object": {}}]}, {"var": "payload.session"}, {"object": {}}]}, "calls", 0]}, 1]}]},
  {"set": [["sessions", {"var": "payload.session"}, "writes"],
    {"+": [{"get": [{"get": [{"var": ["state.sessions", {"object": {}}]}, {"var": "payload.session"}, {"object": {}}]}, "writes", 0]},
      {"if": [{"in": [{"var": "payload.tool"}, {"var": "const.writeTools"}]}, 1, 0]}]}]}
]}}
}`;
