// Sets up a restricted key with the official Node SDK's CAM client: a sub-user that may
// only read (preset QcloudTRTCReadOnlyAccess) (README.md quotes this file).
const tencentcloud = require("tencentcloud-sdk-nodejs");

const endpoint = process.env.TRTC_EMULATOR_ENDPOINT || "127.0.0.1:4599";
const profile = { httpProfile: { endpoint, protocol: "http://" } };
const rootCredential = { secretId: "AKIDtrtcEmulatorDefaultSecretId00000", secretKey: "trtcEmulatorDefaultSecretKey0000" };
const cam = new tencentcloud.cam.v20190116.Client({ credential: rootCredential, region: "ap-guangzhou", profile });

async function main(name) {
  const user = await cam.AddUser({ Name: name, UseApi: 1 });
  const presets = await cam.ListPolicies({ Scope: "QCS", Keyword: "QcloudTRTCReadOnlyAccess" });
  await cam.AttachUserPolicy({ PolicyId: presets.List[0].PolicyId, AttachUin: user.Uin });

  const trtc = new tencentcloud.trtc.v20190722.Client({
    credential: { secretId: user.SecretId, secretKey: user.SecretKey }, region: "ap-guangzhou", profile,
  });
  const now = Math.floor(Date.now() / 1000);
  const rooms = await trtc.DescribeRoomInfo({ SdkAppId: 1400000001, StartTime: now - 3600, EndTime: now });
  const refusal = await trtc.DismissRoom({ SdkAppId: 1400000001, RoomId: 1234 }).catch((err) => err.code);
  console.log(JSON.stringify({ Total: rooms.Total, DismissRoom: refusal })); // {"Total":0,"DismissRoom":"AuthFailure.UnauthorizedOperation"}
}

main(process.argv[2]).catch((err) => {
  console.error(err.code, err.message);
  process.exit(1);
});
