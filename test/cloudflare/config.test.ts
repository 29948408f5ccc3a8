// A room's configuration from Worker vars and secrets (src/cloudflare/config.ts): relay.toml's
// keys and rules, given as JSON; every mistake is a RoomConfigError naming the variable and key.
import { describe, expect, it } from "vitest";
import { roomConfig, RoomConfigError } from "../../src/cloudflare/config.js";
import { defaultConfig } from "../../src/relay/config.js";

describe("roomConfig", () => {
  it("defaults to an open room named clawft room, with the Node relay's session timeout and HELLO deadline", () => {
    expect(roomConfig({})).toEqual({ router: { name: "clawft room", sessionTimeout: 120 }, helloTimeout: 10 });
    expect(defaultConfig().router.sessionTimeout).toBe(roomConfig({}).router.sessionTimeout);
    expect(defaultConfig().helloTimeout).toBe(roomConfig({}).helloTimeout);
  });

  it("reads tokens (authenticated by default, as relay.toml), limits as an object or JSON text, name and security", () => {
    const tokens = JSON.stringify([{ token: "desk", write: ["/mix/**"] }, { token: "viewer", read: ["/mix/**"], write: [] }]);
    expect(roomConfig({ CLASP_TOKENS: tokens, CLASP_LIMITS: { max_sessions: 10, state_ttl: 60, hello_timeout: 3 }, CLASP_NAME: "stage" }).router).toEqual({
      name: "stage",
      sessionTimeout: 120,
      maxSessions: 10,
      stateTtl: 60,
      security: "authenticated",
      tokens: [
        { token: "desk", write: ["/mix/**"] },
        { token: "viewer", read: ["/mix/**"], write: [] },
      ],
    });
    expect(roomConfig({ CLASP_LIMITS: { hello_timeout: 3 } }).helloTimeout).toBe(3);
    expect(roomConfig({ CLASP_TOKENS: tokens, CLASP_SECURITY: "open" }).router.security).toBe("open");
    expect(roomConfig({ CLASP_LIMITS: '{"max_message_size": 1024, "session_timeout": 0, "hello_timeout": 0}' })).toMatchObject({
      router: { maxMessageSize: 1024, sessionTimeout: 0 },
      helloTimeout: 0,
    });
    expect(roomConfig({ CLASP_SECURITY: "authenticated" }).router.security).toBe("authenticated");
  });

  it.each([
    [{ CLASP_LIMITS: "{not json" }, /CLASP_LIMITS: must be JSON/],
    [{ CLASP_LIMITS: "[1]" }, /CLASP_LIMITS: must be an object/],
    [{ CLASP_LIMITS: { max_sesions: 3 } }, /unknown key "max_sesions"/],
    [{ CLASP_LIMITS: { max_sessions: -1 } }, /CLASP_LIMITS.max_sessions: must be an integer/],
    [{ CLASP_LIMITS: { send_buffer_bytes: 1 } }, /unknown key "send_buffer_bytes"/],
    [{ CLASP_LIMITS: { hello_timeout: 1.5 } }, /CLASP_LIMITS.hello_timeout: must be an integer/],
    [{ CLASP_TOKENS: '{"token":"x"}' }, /CLASP_TOKENS: must be a JSON array/],
    [{ CLASP_TOKENS: '[{"token":""}]' }, /CLASP_TOKENS\[0\].token: must be a non-empty string/],
    [{ CLASP_TOKENS: '[{"token":"a","read":"/x"}]' }, /CLASP_TOKENS\[0\].read: must be an array of address patterns/],
    [{ CLASP_TOKENS: '[{"token":"a","scope":[]}]' }, /CLASP_TOKENS\[0\]: unknown key "scope"/],
    [{ CLASP_SECURITY: "closed" }, /CLASP_SECURITY: must be "open" or "authenticated"/],
  ])("refuses %j", (env, message) => {
    expect(() => roomConfig(env)).toThrow(RoomConfigError);
    expect(() => roomConfig(env)).toThrow(message);
  });
});
