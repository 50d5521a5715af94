// Black-box calls to the emulator with the official Node SDK (tencentcloud-sdk-nodejs).
//
// Run by handlers/node_sdk_test.go:
//
//   NODE_PATH=tools/npm/node_modules \
//   TRTC_ENDPOINT=127.0.0.1:4599 TRTC_SECRET_ID=… TRTC_SECRET_KEY=… TRTC_SDKAPPID=1400000001 \
//   node handlers/testdata/node/sdk_blackbox.js
//
// It prints one JSON line per call:
//   {"name","action","style","traceId","ok":true,"response":{…}}
//   {"name","action","style","traceId","ok":false,"error":{"code","message","requestId","httpCode","type"}}
// and first a line {"sdkVersion":"…"}. Each call carries its own X-TC-TraceId
// ("blackbox-<name>") so that the Go test can match it with what the server received.
// The script exits non-zero only if it cannot run at all; API errors are outcomes.
"use strict";

const tencentcloud = require("tencentcloud-sdk-nodejs");
const { sdkVersion } = require("tencentcloud-sdk-nodejs/tencentcloud/common/sdk_version");

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`sdk_blackbox.js: environment variable ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const endpoint = env("TRTC_ENDPOINT"); // host:port, no scheme
const secretId = env("TRTC_SECRET_ID");
const secretKey = env("TRTC_SECRET_KEY");
const sdkAppId = Number(env("TRTC_SDKAPPID"));
const region = process.env.TRTC_REGION || "ap-guangzhou";

// Transport and signature styles, as profile settings of the SDK.
const styles = {
  "tc3-post": {},
  "tc3-get": { reqMethod: "GET" },
  "v1-sha256-post": { signMethod: "HmacSHA256" },
  "v1-sha256-get": { signMethod: "HmacSHA256", reqMethod: "GET" },
  "v1-sha1-post": { signMethod: "HmacSHA1" },
  "v1-sha1-get": { signMethod: "HmacSHA1", reqMethod: "GET" },
};

function client(style, traceId, key) {
  const s = styles[style];
  if (!s) throw new Error(`unknown style ${style}`);
  const httpProfile = { endpoint, protocol: "http://", headers: { "X-TC-TraceId": traceId } };
  if (s.reqMethod) httpProfile.reqMethod = s.reqMethod;
  const profile = { httpProfile };
  if (s.signMethod) profile.signMethod = s.signMethod;
  return new tencentcloud.trtc.v20190722.Client({
    credential: { secretId, secretKey: key || secretKey },
    region,
    profile,
  });
}

const now = Math.floor(Date.now() / 1000);
const window = () => ({ SdkAppId: sdkAppId, StartTime: now - 3600, EndTime: now + 60 });

// Each call: name (unique), style, action, params, and how to send it: "method" calls
// the generated client method, "request" the generic client.request(action, params).
const calls = [];
for (const style of Object.keys(styles)) {
  calls.push({ name: `describe-${style}`, style, action: "DescribeRoomInfo", params: window() });
}
calls.push(
  { name: "dismiss-missing-tc3-post", style: "tc3-post", action: "DismissRoom", params: { SdkAppId: sdkAppId, RoomId: 987654 } },
  { name: "dismiss-missing-tc3-get", style: "tc3-get", action: "DismissRoom", params: { SdkAppId: sdkAppId, RoomId: 987654 } },
  { name: "dismiss-missing-v1-sha256-post", style: "v1-sha256-post", action: "DismissRoom", params: { SdkAppId: sdkAppId, RoomId: 987654 } },
  { name: "wrong-key-tc3-post", style: "tc3-post", action: "DescribeRoomInfo", params: window(), key: secretKey + "-wrong" },
  { name: "wrong-key-tc3-get", style: "tc3-get", action: "DescribeRoomInfo", params: window(), key: secretKey + "-wrong" },
  { name: "wrong-key-v1-sha256-post", style: "v1-sha256-post", action: "DescribeRoomInfo", params: window(), key: secretKey + "-wrong" },
  { name: "wrong-key-v1-sha1-get", style: "v1-sha1-get", action: "DescribeRoomInfo", params: window(), key: secretKey + "-wrong" },
  { name: "unknown-action-tc3-post", style: "tc3-post", action: "NoSuchAction", params: {}, via: "request" },
  { name: "unknown-action-v1-sha256-get", style: "v1-sha256-get", action: "NoSuchAction", params: {}, via: "request" },
  {
    name: "sdkappid-string-tc3-post", style: "tc3-post", action: "DescribeRoomInfo",
    params: Object.assign(window(), { SdkAppId: String(sdkAppId) }),
  },
  {
    name: "sdkappid-text-tc3-get", style: "tc3-get", action: "DescribeRoomInfo",
    params: Object.assign(window(), { SdkAppId: "not-a-number" }),
  },
  {
    name: "sdkappid-text-v1-sha256-post", style: "v1-sha256-post", action: "DescribeRoomInfo",
    params: Object.assign(window(), { SdkAppId: "not-a-number" }),
  },
  {
    name: "missing-endtime-tc3-post", style: "tc3-post", action: "DescribeRoomInfo",
    params: { SdkAppId: sdkAppId, StartTime: now - 3600 },
  },
);

function errorOutcome(e) {
  return {
    code: e && e.code !== undefined ? String(e.code) : "",
    message: e && e.message !== undefined ? String(e.message) : String(e),
    requestId: (e && e.requestId) || "",
    traceId: (e && e.traceId) || "",
    httpCode: (e && e.httpCode) || 0,
    type: (e && e.constructor && e.constructor.name) || typeof e,
  };
}

async function run(c) {
  const traceId = `blackbox-${c.name}`;
  const out = { name: c.name, action: c.action, style: c.style, traceId };
  try {
    const cl = client(c.style, traceId, c.key);
    let resp;
    if (c.via === "request") {
      resp = await cl.request(c.action, c.params);
    } else {
      if (typeof cl[c.action] !== "function") throw new Error(`the SDK client has no method ${c.action}`);
      resp = await cl[c.action](c.params);
    }
    out.ok = true;
    out.response = resp;
  } catch (e) {
    out.ok = false;
    out.error = errorOutcome(e);
  }
  // BigInt (json-bigint) values are printed as numbers in text.
  console.log(JSON.stringify(out, (k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

(async () => {
  console.log(JSON.stringify({ sdkVersion }));
  for (const c of calls) {
    await run(c);
  }
})().catch((e) => {
  console.error("sdk_blackbox.js:", e && e.stack ? e.stack : e);
  process.exit(1);
});
