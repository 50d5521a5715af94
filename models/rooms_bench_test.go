package models

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRooms is DescribeRoomInfo's store call: the first page of 10 of a window's 20
// rooms, as the API bench asks, on two readers at once (this machine's two cores).
func BenchmarkRooms(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Database: "sqlite://" + filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Seed(ctx, testSeed); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := s.OpenRoom(ctx, testSeed.SdkAppId, "room-"+strconv.Itoa(i), RoomIdString, "alice"); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now().Unix()
	q := RoomQuery{Uin: testSeed.Uin, SdkAppId: testSeed.SdkAppId, StartTime: now - 3600, EndTime: now + 3600, PageSize: 10}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			total, rooms, err := s.Rooms(ctx, q)
			if err != nil || total != 20 || len(rooms) != 10 || rooms[9].RoomId != "room-9" {
				b.Errorf("Rooms = %d, %d rooms, %v", total, len(rooms), err)
				return
			}
		}
	})
}
