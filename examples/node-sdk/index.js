// Calls the emulator with the official Node SDK (README.md quotes this file).
const tencentcloud = require("tencentcloud-sdk-nodejs");

const client = new tencentcloud.trtc.v20190722.Client({
  credential: { secretId: "AKIDtrtcEmulatorDefaultSecretId00000", secretKey: "trtcEmulatorDefaultSecretKey0000" },
  region: "ap-guangzhou",
  profile: { httpProfile: { endpoint: process.env.TRTC_EMULATOR_ENDPOINT || "127.0.0.1:4599", protocol: "http://" } },
});

const now = Math.floor(Date.now() / 1000);
client.DescribeRoomInfo({ SdkAppId: 1400000001, StartTime: now - 3600, EndTime: now }).then(
  (resp) => console.log(JSON.stringify(resp)),
  (err) => {
    console.error(err.code, err.message, err.requestId);
    process.exit(1);
  },
);
