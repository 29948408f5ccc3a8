// A room's configuration from Worker vars and secrets (src/cloudflare/config.ts): relay.toml's
// keys and rules, given as JSON; every mistake is a RoomConfigError naming the variable and key.
import { describe, expect, it } from "vitest";
import { roomConfig, RoomConfigError } from "../../src/cloudflare/config.js";

describe("roomConfig", () => {
  it("defaults to an open room named clawft room", () => {
    expect(roomConfig({})).toEqual({ name: "clawft room" });
  });

  it("reads tokens (authenticated by default, as relay.toml), limits as an object or JSON text, name and security", () => {
    const tokens = JSON.stringify([{ token: "desk", write: ["/mix/**"] }, { token: "viewer", read: ["/mix/**"], write: [] }]);
    expect(roomConfig({ CLASP_TOKENS: tokens, CLASP_LIMITS: { max_sessions: 10, state_ttl: 60 }, CLASP_NAME: "stage" })).toEqual({
      name: "stage",
      maxSessions: 10,
      stateTtl: 60,
      security: "authenticated",
      tokens: [
        { token: "desk", write: ["/mix/**"] },
        { token: "viewer", read: ["/mix/**"], write: [] },
      ],
    });
    expect(roomConfig({ CLASP_TOKENS: tokens, CLASP_SECURITY: "open" }).security).toBe("open");
    expect(roomConfig({ CLASP_LIMITS: '{"max_message_size": 1024, "session_timeout": 30}' })).toMatchObject({ maxMessageSize: 1024, sessionTimeout: 30 });
    expect(roomConfig({ CLASP_SECURITY: "authenticated" }).security).toBe("authenticated");
  });

  it.each([
    [{ CLASP_LIMITS: "{not json" }, /CLASP_LIMITS: must be JSON/],
    [{ CLASP_LIMITS: "[1]" }, /CLASP_LIMITS: must be an object/],
    [{ CLASP_LIMITS: { max_sesions: 3 } }, /unknown key "max_sesions"/],
    [{ CLASP_LIMITS: { max_sessions: -1 } }, /CLASP_LIMITS.max_sessions: must be an integer/],
    [{ CLASP_LIMITS: { send_buffer_bytes: 1 } }, /unknown key "send_buffer_bytes"/],
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
