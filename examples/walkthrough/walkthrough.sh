E=${TRTC_EMULATOR_ENDPOINT:-127.0.0.1:4599}   # a room "demo" with two anchors and a recording
curl -s $E/_emulator/v1/participants -d '{"RoomId":"demo","RoomIdType":0,"UserId":"alice","Role":20,"Publish":{"Video":true,"Audio":true}}'
curl -s $E/_emulator/v1/participants -d '{"RoomId":"demo","RoomIdType":0,"UserId":"bob","Role":20,"Publish":{"Video":true,"Audio":true}}'
go run ./examples/record-go demo       # CreateCloudRecording with the Go SDK: prints the TaskId
curl -s "$E/_emulator/v1/rooms"        # alice, bob and the recorder robot; files appear under /storage/demo/
