package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/media/whip"
)

// ticketFlags are the flags usersig and privatemapkey share; the application defaults to
// the emulator's default app (same env vars as serve).
type ticketFlags struct {
	fs       *flag.FlagSet
	sdkAppId *uint64
	key      *string
	userId   *string
	expire   *time.Duration
}

func newTicketFlags(name string, getenv func(string) string) *ticketFlags {
	fs := flag.NewFlagSet("trtc-emulator "+name, flag.ContinueOnError)
	appId := uint64(defaultSdkAppId)
	if v, err := strconv.ParseUint(getenv("TRTC_EMULATOR_SDKAPPID"), 10, 32); err == nil {
		appId = v
	}
	key := defaultSdkSecretKey
	if v := getenv("TRTC_EMULATOR_SDKSECRETKEY"); v != "" {
		key = v
	}
	return &ticketFlags{
		fs:       fs,
		sdkAppId: fs.Uint64("sdkappid", appId, "SdkAppId ($TRTC_EMULATOR_SDKAPPID)"),
		key:      fs.String("key", key, "the application's secret key ($TRTC_EMULATOR_SDKSECRETKEY)"),
		userId:   fs.String("userid", "", "user id (required)"),
		expire:   fs.Duration("expire", 24*time.Hour, "lifetime"),
	}
}

func (f *ticketFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", f.fs.Args())
	}
	if *f.userId == "" {
		return errors.New("-userid is required")
	}
	return nil
}

func (f *ticketFlags) params() usersig.Params {
	return usersig.Params{SdkAppId: *f.sdkAppId, Key: *f.key, UserId: *f.userId, Expire: *f.expire, Now: time.Now()}
}

// runUserSig prints a UserSig: trtc-emulator usersig -userid alice [-expire 24h].
func runUserSig(args []string, getenv func(string) string, stdout io.Writer) error {
	f := newTicketFlags("usersig", getenv)
	if err := f.parse(args); err != nil {
		return helpIsNotAnError(err)
	}
	sig, err := usersig.Gen(f.params())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, sig)
	return nil
}

// runPrivateMapKey prints a PrivateMapKey:
// trtc-emulator privatemapkey -userid alice -roomid 1234 [-privileges 255].
func runPrivateMapKey(args []string, getenv func(string) string, stdout io.Writer) error {
	f := newTicketFlags("privatemapkey", getenv)
	roomId := f.fs.Uint("roomid", 0, "integer room id")
	strRoomId := f.fs.String("strroomid", "", "string room id")
	privileges := f.fs.Uint("privileges", uint(usersig.PrivAll), "privilege bits: 1 create, 2 enter, 4 send audio, 8 receive audio, 16 send video, 32 receive video, 64 send substream, 128 receive substream")
	if err := f.parse(args); err != nil {
		return helpIsNotAnError(err)
	}
	if (*roomId == 0) == (*strRoomId == "") {
		return errors.New("give exactly one of -roomid and -strroomid")
	}
	if *roomId > 1<<32-1 || *privileges > 255 {
		return errors.New("-roomid must fit 32 bits and -privileges 8 bits")
	}
	p := f.params()
	key, err := usersig.GenPrivateMapKey(p, usersig.PrivateMap{
		UserId: p.UserId, SdkAppId: uint32(p.SdkAppId), RoomId: uint32(*roomId), StrRoomId: *strRoomId,
		ExpiresAt: p.Now.Add(p.Expire), Privileges: uint32(*privileges),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	return nil
}

func helpIsNotAnError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// runWHIPToken prints a WHIP Bearer token (media/whip.Token) for a member of a room:
// trtc-emulator whip-token -userid obs -strroomid demo [-privatemapkey K].
func runWHIPToken(args []string, getenv func(string) string, stdout io.Writer) error {
	f := newTicketFlags("whip-token", getenv)
	roomId := f.fs.Uint("roomid", 0, "integer room id")
	strRoomId := f.fs.String("strroomid", "", "string room id")
	privateMapKey := f.fs.String("privatemapkey", "", "PrivateMapKey, for an application with advanced permission control")
	if err := f.parse(args); err != nil {
		return helpIsNotAnError(err)
	}
	if (*roomId == 0) == (*strRoomId == "") {
		return errors.New("give exactly one of -roomid and -strroomid")
	}
	sig, err := usersig.Gen(f.params())
	if err != nil {
		return err
	}
	tok := whip.Token{SdkAppId: *f.sdkAppId, RoomId: *strRoomId, RoomIdType: 0, UserId: *f.userId, UserSig: sig, PrivateMapKey: *privateMapKey}
	if *roomId != 0 {
		tok.RoomId, tok.RoomIdType = strconv.FormatUint(uint64(*roomId), 10), 1
	}
	fmt.Fprintln(stdout, tok.String())
	return nil
}
