package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// Account is a Tencent Cloud root account.
type Account struct {
	Uin       string `gorm:"primaryKey"`
	CreatedAt time.Time
}

// APIKey is a SecretId/SecretKey pair of an account: a root account or a sub-user.
type APIKey struct {
	SecretId    string `gorm:"primaryKey"`
	SecretKey   string
	Uin         string
	Status      string // Active, Inactive
	Description string
	CreatedAt   time.Time
	// OwnerUin is the root account the key acts for: Uin itself, or a sub-user's owner.
	// Read by APIKey only.
	OwnerUin string `gorm:"->"`
}

// App is a TRTC application (SDKAppID) and its console settings.
type App struct {
	SdkAppId                  uint64 `gorm:"primaryKey;autoIncrement:false"`
	Uin                       string
	Name                      string
	SdkSecretKey              string
	AdvancedPermissionControl bool
	CreatedAt                 time.Time
	UpdatedAt                 time.Time
	Callbacks                 []AppCallback `gorm:"foreignKey:SdkAppId"`
}

// AppCallback is where one event group of an application is delivered, and how.
type AppCallback struct {
	SdkAppId     uint64 `gorm:"primaryKey"`
	EventGroupId int    `gorm:"primaryKey"`
	Url          string
	Key          string
	// CallbackOrder is "" (each event delivered on its own, TRTC's way: receivers reorder
	// by EventMsTs) or CallbackOrderStrict.
	CallbackOrder string
}

// CallbackOrderStrict delivers a group's events of one room (groups 1 and 2 share the
// room's order) or of one recording task one at a time, in order: an event waits until the
// one before it is delivered or has failed for good.
const CallbackOrderStrict = "strict"

// Event groups of TRTC callbacks (seed: "Event Callbacks").
const (
	EventGroupRoom      = 1
	EventGroupMedia     = 2
	EventGroupRecording = 3
	EventGroupRelay     = 4
	EventGroupIngest    = 7
)

var eventGroups = map[int]bool{EventGroupRoom: true, EventGroupMedia: true, EventGroupRecording: true,
	EventGroupRelay: true, EventGroupIngest: true}

// Seed is the state a first start creates: the root account, its API key and the default app.
type Seed struct {
	Uin          string
	SecretId     string
	SecretKey    string
	SdkAppId     uint64
	SdkSecretKey string
	CallbackURL  string // for every event group of the default app; may be empty
	CallbackKey  string
}

// Seed creates whatever of the seed does not exist yet; existing rows are kept as they are
// (a warning is logged when the configured values differ from the stored ones).
func (s *Store) Seed(ctx context.Context, seed Seed) error {
	now := s.now().UTC()
	settings := AppSettings{Name: ptr("default"), SdkSecretKey: &seed.SdkSecretKey}
	if seed.CallbackURL != "" {
		for g := range eventGroups {
			settings.Callbacks = append(settings.Callbacks, AppCallback{EventGroupId: g, Url: seed.CallbackURL, Key: seed.CallbackKey})
		}
	}
	if err := settings.validate(); err != nil {
		return fmt.Errorf("default application settings: %w", err)
	}
	defer s.keys.Clear()
	s.appsMu.Lock()
	defer s.appsMu.Unlock()
	defer s.appGen.Add(1)
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Account{Uin: seed.Uin, CreatedAt: now}).Error; err != nil {
			return err
		}
		var key APIKey
		err := tx.Where("secret_id = ?", seed.SecretId).Take(&key).Error
		switch {
		case isNotFound(err):
			if err := tx.Create(&APIKey{SecretId: seed.SecretId, SecretKey: seed.SecretKey, Uin: seed.Uin, Status: "Active", CreatedAt: now}).Error; err != nil {
				return err
			}
		case err != nil:
			return err
		case key.SecretKey != seed.SecretKey:
			s.log.Warn("the configured SecretKey differs from the stored one; keeping the stored key", "secret_id", seed.SecretId)
		}
		var app App
		err = tx.Where("sdk_app_id = ?", seed.SdkAppId).Take(&app).Error
		switch {
		case isNotFound(err):
			return putApp(tx, seed.Uin, seed.SdkAppId, settings, now)
		case err != nil:
			return err
		case app.SdkSecretKey != seed.SdkSecretKey:
			s.log.Warn("the configured SDK secret key differs from the stored one; keeping the stored key", "sdk_app_id", seed.SdkAppId)
		}
		return nil
	})
}

// APIKey returns the key with a SecretId.
func (s *Store) APIKey(ctx context.Context, secretId string) (APIKey, bool, error) {
	if k, ok := s.keys.Load(secretId); ok {
		return k.(APIKey), true, nil
	}
	var k APIKey
	err := s.writer(ctx).Table("api_keys").Select("api_keys.*, COALESCE(accounts.owner_uin, api_keys.uin) AS owner_uin").
		Joins("JOIN accounts ON accounts.uin = api_keys.uin").Where("secret_id = ? AND status = 'Active'", secretId).Take(&k).Error
	if isNotFound(err) {
		return APIKey{}, false, nil
	}
	if err != nil {
		return APIKey{}, false, err
	}
	s.keys.Store(secretId, k)
	return k, true, nil
}

// App returns an application with its callbacks. Applications are cached (an entry reads
// its application twice): an entry is valid while appGen, raised after every change of an
// application, is the one it was read under.
func (s *Store) App(ctx context.Context, sdkAppId uint64) (*App, error) {
	gen := s.appGen.Load()
	if c, ok := s.apps.Load(sdkAppId); ok && c.(cachedApp).gen == gen {
		return c.(cachedApp).app.clone(), nil
	}
	var app App
	// On the read pool: an entry and every recording read it outside their transaction.
	err := s.reader(ctx).Preload("Callbacks", func(db *gorm.DB) *gorm.DB {
		return db.Order("event_group_id")
	}).Where("sdk_app_id = ?", sdkAppId).Take(&app).Error
	if isNotFound(err) {
		return nil, tcerr.New(tcerr.CodeSdkAppIdNotExist, "The SdkAppId %d does not exist.", sdkAppId)
	}
	if err != nil {
		return nil, err
	}
	s.apps.Store(sdkAppId, cachedApp{gen: gen, app: app.clone()})
	return &app, nil
}

type cachedApp struct {
	gen uint64
	app *App
}

func (a *App) clone() *App {
	c := *a
	c.Callbacks = slices.Clone(a.Callbacks)
	return &c
}

// OwnedApp returns the application if the account owns it: the check every TRTC action
// makes on its SdkAppId.
func (s *Store) OwnedApp(ctx context.Context, uin string, sdkAppId uint64) (*App, error) {
	app, err := s.App(ctx, sdkAppId)
	if err != nil {
		return nil, err
	}
	if app.Uin != uin {
		return nil, tcerr.New(tcerr.CodeUnauthorizedSdkAppId, "The SdkAppId %d does not belong to account %s.", sdkAppId, uin)
	}
	return app, nil
}

// checkAppOwner is OwnedApp without loading the application: one indexed read.
func checkAppOwner(db *gorm.DB, uin string, sdkAppId uint64) error {
	var owners []string
	if err := db.Model(&App{}).Where("sdk_app_id = ?", sdkAppId).Limit(1).Pluck("uin", &owners).Error; err != nil {
		return err
	}
	switch {
	case len(owners) == 0:
		return tcerr.New(tcerr.CodeSdkAppIdNotExist, "The SdkAppId %d does not exist.", sdkAppId)
	case owners[0] != uin:
		return tcerr.New(tcerr.CodeUnauthorizedSdkAppId, "The SdkAppId %d does not belong to account %s.", sdkAppId, uin)
	}
	return nil
}

// checkOwner is checkAppOwner answered from the owners cache once the application was
// seen (an application's owner never changes): no SQL on the API's read paths.
func (s *Store) checkOwner(ctx context.Context, uin string, sdkAppId uint64) error {
	owner, ok := s.owners.Load(sdkAppId)
	if !ok {
		var owners []string
		if err := s.reader(ctx).Model(&App{}).Where("sdk_app_id = ?", sdkAppId).Limit(1).Pluck("uin", &owners).Error; err != nil {
			return err
		}
		if len(owners) == 0 {
			return tcerr.New(tcerr.CodeSdkAppIdNotExist, "The SdkAppId %d does not exist.", sdkAppId)
		}
		owner, _ = s.owners.LoadOrStore(sdkAppId, owners[0])
	}
	if owner.(string) != uin {
		return tcerr.New(tcerr.CodeUnauthorizedSdkAppId, "The SdkAppId %d does not belong to account %s.", sdkAppId, uin)
	}
	return nil
}

// AppSettings are the console-level settings of an application; nil fields keep their
// value (or take a default on creation).
type AppSettings struct {
	Name                      *string
	SdkSecretKey              *string
	AdvancedPermissionControl *bool
	Callbacks                 []AppCallback // nil keeps, empty clears
}

var (
	callbackKeyPattern = regexp.MustCompile(`^[A-Za-z0-9]{0,32}$`)
	secretKeyPattern   = regexp.MustCompile(`^[\x21-\x7e]{16,128}$`)
)

func (a AppSettings) validate() error {
	if a.Name != nil && (len(*a.Name) == 0 || len(*a.Name) > 64) {
		return tcerr.InvalidParameterValue("Name", "it must be 1 to 64 bytes")
	}
	if a.SdkSecretKey != nil && !secretKeyPattern.MatchString(*a.SdkSecretKey) {
		return tcerr.InvalidParameterValue("SdkSecretKey", "it must be 16 to 128 printable ASCII characters without spaces")
	}
	seen := map[int]bool{}
	for i, cb := range a.Callbacks {
		field := fmt.Sprintf("Callbacks.%d", i)
		if !eventGroups[cb.EventGroupId] {
			return tcerr.InvalidParameterValue(field+".EventGroupId", "it must be 1 (room), 2 (media), 3 (cloud recording), 4 (relay to CDN) or 7 (stream ingest)")
		}
		if seen[cb.EventGroupId] {
			return tcerr.InvalidParameterValue(field+".EventGroupId", fmt.Sprintf("event group %d is listed twice", cb.EventGroupId))
		}
		seen[cb.EventGroupId] = true
		u, err := url.Parse(cb.Url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return tcerr.InvalidParameterValue(field+".Url", "it must be an absolute http or https URL")
		}
		if !callbackKeyPattern.MatchString(cb.Key) {
			return tcerr.InvalidParameterValue(field+".Key", "it must be at most 32 letters and digits")
		}
		if cb.CallbackOrder != "" && cb.CallbackOrder != CallbackOrderStrict {
			return tcerr.InvalidParameterValue(field+".CallbackOrder", `it must be "" (each event on its own) or "strict"`)
		}
	}
	return nil
}

// changeApps runs change, which changes applications, while no entry is between reading its
// cached application and committing, then invalidates the cache (after the commit: no entry
// read before it stays valid).
func (s *Store) changeApps(change func() error) error {
	s.appsMu.Lock()
	defer s.appsMu.Unlock()
	defer s.appGen.Add(1)
	return change()
}

// PutApp creates the application (owned by uin) or replaces the given settings of an
// existing one. created tells which.
func (s *Store) PutApp(ctx context.Context, uin string, sdkAppId uint64, settings AppSettings) (app *App, created bool, err error) {
	if sdkAppId == 0 || sdkAppId > 1<<32-1 {
		return nil, false, tcerr.New(tcerr.CodeInvalidSdkAppId, "The SdkAppId %d is invalid: it must be 1 to 4294967295.", sdkAppId)
	}
	err = s.changeApps(func() error {
		return s.write(ctx, func(tx *gorm.DB) error {
			var existing App
			err := tx.Where("sdk_app_id = ?", sdkAppId).Take(&existing).Error
			if err != nil && !isNotFound(err) {
				return err
			}
			created = isNotFound(err)
			if !created && existing.Uin != uin {
				return tcerr.New(tcerr.CodeUnauthorizedSdkAppId, "The SdkAppId %d belongs to another account.", sdkAppId)
			}
			if err := settings.validate(); err != nil {
				return err
			}
			return putApp(tx, uin, sdkAppId, settings, s.now().UTC())
		})
	})
	if err != nil {
		return nil, false, err
	}
	app, err = s.App(ctx, sdkAppId)
	return app, created, err
}

func putApp(tx *gorm.DB, uin string, sdkAppId uint64, settings AppSettings, now time.Time) error {
	var app App
	err := tx.Where("sdk_app_id = ?", sdkAppId).Take(&app).Error
	if isNotFound(err) {
		app = App{SdkAppId: sdkAppId, Uin: uin, Name: fmt.Sprintf("app-%d", sdkAppId), CreatedAt: now}
		app.SdkSecretKey = randomHex(32)
	} else if err != nil {
		return err
	}
	if settings.Name != nil {
		app.Name = *settings.Name
	}
	if settings.SdkSecretKey != nil {
		app.SdkSecretKey = *settings.SdkSecretKey
	}
	if settings.AdvancedPermissionControl != nil {
		app.AdvancedPermissionControl = *settings.AdvancedPermissionControl
	}
	app.UpdatedAt = now
	if err := tx.Omit("Callbacks").Save(&app).Error; err != nil {
		return err
	}
	if settings.Callbacks == nil {
		return nil
	}
	if err := tx.Where("sdk_app_id = ?", sdkAppId).Delete(&AppCallback{}).Error; err != nil {
		return err
	}
	for _, cb := range settings.Callbacks {
		cb.SdkAppId = sdkAppId
		if err := tx.Create(&cb).Error; err != nil {
			return err
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

func ptr[T any](v T) *T { return &v }
