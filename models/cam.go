package models

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/trtc-emulator/trtc-emulator/tcerr"
)

// CAM limits and codes (api-protocol §6).
const (
	MaxKeysPerUser = 2

	CodeSubUserNameInUse   = "InvalidParameter.SubUserNameInUse"
	CodeUserNameIllegal    = "InvalidParameter.UserNameIllegal"
	CodeSubUserNotExist    = "ResourceNotFound.UserNotExist"
	CodeAccessKeyOverLimit = "OperationDenied.AccessKeyOverLimit"
	CodeHaveKeys           = "OperationDenied.HaveKeys"
	CodeUinNotMatch        = "OperationDenied.UinNotMatch"
	CodePolicyNameInUse    = "FailedOperation.PolicyNameInUse"
	CodePolicyNameError    = "InvalidParameter.PolicyNameError"
	CodePolicyIdNotExist   = "InvalidParameter.PolicyIdNotExist"
	CodePolicyIdNotFound   = "ResourceNotFound.PolicyIdNotFound"
	CodeAccessKeyNotFound  = "ResourceNotFound.NotFound"
	CodeParamError         = "InvalidParameter.ParamError"

	PolicyCustom = 1
	PolicyPreset = 2
)

// SubUser is a CAM sub-user of a root account.
type SubUser struct {
	Uin          string `gorm:"primaryKey"`
	OwnerUin     string
	Name         string
	Remark       string
	ConsoleLogin int
	PhoneNum     string
	CountryCode  string
	Email        string
	CreatedAtMs  int64
}

// Policy is a CAM policy: a preset (owner "") or an account's custom policy.
type Policy struct {
	ID          uint64 `gorm:"primaryKey"`
	OwnerUin    string
	Name        string
	Description string
	Document    string
	Type        int
	CreatedAtMs int64
	UpdatedAtMs int64
}

// PolicyAttachment links a policy to a sub-user.
type PolicyAttachment struct {
	PolicyId     uint64 `gorm:"primaryKey"`
	Uin          string `gorm:"primaryKey"`
	AttachedAtMs int64
}

// PresetPolicy is a policy every account sees (QcloudTRTCFullAccess …).
type PresetPolicy struct {
	Name, Description, Document string
}

// SeedPresets installs the preset policies, keeping the id of those already stored.
func (s *Store) SeedPresets(ctx context.Context, presets []PresetPolicy) error {
	defer s.camChanged()
	nowMs := s.now().UnixMilli()
	return s.write(ctx, func(tx *gorm.DB) error {
		for _, p := range presets {
			res := tx.Model(&Policy{}).Where("owner_uin = '' AND name = ?", p.Name).
				Updates(map[string]any{"description": p.Description, "document": p.Document})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected > 0 {
				continue // an upsert would spend an id of the sequence
			}
			row := Policy{Name: p.Name, Description: p.Description, Document: p.Document, Type: PolicyPreset, CreatedAtMs: nowMs, UpdatedAtMs: nowMs}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

var subUserName = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newKey makes a SecretId/SecretKey pair in Tencent's shape (AKID + 32, 32).
func newKey(uin, description string, now time.Time) APIKey {
	return APIKey{SecretId: "AKID" + randomString(32, alnum), SecretKey: randomString(32, alnum), Uin: uin,
		Status: "Active", Description: description, CreatedAt: now}
}

// NewSubUser is AddUser's input.
type NewSubUser struct {
	Name, Remark, PhoneNum, CountryCode, Email string
	ConsoleLogin                               int
	UseApi                                     bool
}

// AddSubUser creates a sub-user of owner (and an API key when UseApi).
func (s *Store) AddSubUser(ctx context.Context, owner string, in NewSubUser) (*SubUser, *APIKey, error) {
	if !subUserName.MatchString(in.Name) {
		return nil, nil, tcerr.New(CodeUserNameIllegal, "The user name %q is invalid: 1 to 64 of letters, digits and +=,.@_-.", in.Name)
	}
	now := s.now()
	var user *SubUser
	var key *APIKey
	err := s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&SubUser{}).Where("owner_uin = ? AND name = ?", owner, in.Name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return tcerr.New(CodeSubUserNameInUse, "A sub-user named %q already exists.", in.Name)
		}
		uin, err := newUin(tx)
		if err != nil {
			return err
		}
		if err := tx.Exec("INSERT INTO accounts (uin, created_at, owner_uin) VALUES (?, ?, ?)", uin, now.UTC(), owner).Error; err != nil {
			return err
		}
		user = &SubUser{Uin: uin, OwnerUin: owner, Name: in.Name, Remark: in.Remark, ConsoleLogin: in.ConsoleLogin,
			PhoneNum: in.PhoneNum, CountryCode: in.CountryCode, Email: in.Email, CreatedAtMs: now.UnixMilli()}
		if err := tx.Create(user).Error; err != nil {
			return err
		}
		if in.UseApi {
			k := newKey(uin, "", now.UTC())
			key = &k
			return tx.Create(key).Error
		}
		return nil
	})
	return user, key, err
}

// newUin picks an unused 12-digit sub-account uin.
func newUin(tx *gorm.DB) (string, error) {
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(9e10))
		uin := strconv.FormatInt(100000000000+9e10+n.Int64(), 10)
		var c int64
		if err := tx.Table("accounts").Where("uin = ?", uin).Count(&c).Error; err != nil || c == 0 {
			return uin, err
		}
	}
}

// SubUserByName returns owner's sub-user with that name.
func (s *Store) SubUserByName(ctx context.Context, owner, name string) (*SubUser, error) {
	var u SubUser
	err := s.writer(ctx).Where("owner_uin = ? AND name = ?", owner, name).Take(&u).Error
	if isNotFound(err) {
		return nil, tcerr.New(CodeSubUserNotExist, "The sub-user %q does not exist.", name)
	}
	return &u, err
}

// SubUsers lists owner's sub-users by creation.
func (s *Store) SubUsers(ctx context.Context, owner string) ([]SubUser, error) {
	var out []SubUser
	err := s.writer(ctx).Where("owner_uin = ?", owner).Order("created_at_ms, uin").Find(&out).Error
	return out, err
}

// SubUserChange is UpdateUser's input; nil keeps.
type SubUserChange struct {
	Remark, PhoneNum, CountryCode, Email *string
	ConsoleLogin                         *int
}

// UpdateSubUser changes a sub-user's profile.
func (s *Store) UpdateSubUser(ctx context.Context, owner, name string, c SubUserChange) error {
	u, err := s.SubUserByName(ctx, owner, name)
	if err != nil {
		return err
	}
	updates := map[string]any{}
	for col, v := range map[string]*string{"remark": c.Remark, "phone_num": c.PhoneNum, "country_code": c.CountryCode, "email": c.Email} {
		if v != nil {
			updates[col] = *v
		}
	}
	if c.ConsoleLogin != nil {
		updates["console_login"] = *c.ConsoleLogin
	}
	if len(updates) == 0 {
		return nil
	}
	return s.writer(ctx).Model(u).Updates(updates).Error
}

// DeleteSubUser removes a sub-user, its attachments and (with force) its API keys; without
// force a user with keys is refused.
func (s *Store) DeleteSubUser(ctx context.Context, owner, name string, force bool) error {
	defer s.keys.Clear()
	defer s.camChanged()
	return s.write(ctx, func(tx *gorm.DB) error {
		var u SubUser
		err := tx.Where("owner_uin = ? AND name = ?", owner, name).Take(&u).Error
		if isNotFound(err) {
			return tcerr.New(CodeSubUserNotExist, "The sub-user %q does not exist.", name)
		}
		if err != nil {
			return err
		}
		var keys int64
		if err := tx.Model(&APIKey{}).Where("uin = ?", u.Uin).Count(&keys).Error; err != nil {
			return err
		}
		if keys > 0 && !force {
			return tcerr.New(CodeHaveKeys, "The sub-user %q has %d API keys: delete them first or pass Force 1.", name, keys)
		}
		for _, q := range []string{"DELETE FROM api_keys WHERE uin = ?", "DELETE FROM policy_attachments WHERE uin = ?",
			"DELETE FROM sub_users WHERE uin = ?", "DELETE FROM accounts WHERE uin = ?"} {
			if err := tx.Exec(q, u.Uin).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// targetUin resolves TargetUin of the key actions: the caller itself when empty, else one
// of owner's sub-users (or owner).
func targetUin(tx *gorm.DB, owner, caller, target string) (string, error) {
	if target == "" {
		return caller, nil
	}
	if target == owner {
		return owner, nil
	}
	var n int64
	if err := tx.Model(&SubUser{}).Where("owner_uin = ? AND uin = ?", owner, target).Count(&n).Error; err != nil {
		return "", err
	}
	if n == 0 {
		return "", tcerr.New(CodeSubUserNotExist, "The user %s does not exist in account %s.", target, owner)
	}
	return target, nil
}

// CreateAccessKey makes a key for target (the caller when empty): at most MaxKeysPerUser.
func (s *Store) CreateAccessKey(ctx context.Context, owner, caller, target, description string) (*APIKey, error) {
	var key APIKey
	err := s.write(ctx, func(tx *gorm.DB) error {
		uin, err := targetUin(tx, owner, caller, target)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&APIKey{}).Where("uin = ?", uin).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxKeysPerUser {
			return tcerr.New(CodeAccessKeyOverLimit, "User %s already has %d API keys, the most allowed.", uin, n)
		}
		key = newKey(uin, description, s.now().UTC())
		return tx.Create(&key).Error
	})
	return &key, err
}

// AccessKeys lists target's keys (the caller's when empty).
func (s *Store) AccessKeys(ctx context.Context, owner, caller, target string) ([]APIKey, error) {
	var keys []APIKey
	err := s.write(ctx, func(tx *gorm.DB) error {
		uin, err := targetUin(tx, owner, caller, target)
		if err != nil {
			return err
		}
		return tx.Where("uin = ?", uin).Order("created_at, secret_id").Find(&keys).Error
	})
	return keys, err
}

// SetAccessKey enables ("Active"), disables ("Inactive") or, with status "", deletes a key
// of target (the caller when empty).
func (s *Store) SetAccessKey(ctx context.Context, owner, caller, target, secretId, status string) error {
	if status != "" && status != "Active" && status != "Inactive" {
		return tcerr.New(CodeParamError, "Status %q is invalid: Active or Inactive.", status)
	}
	defer s.keys.Clear()
	return s.write(ctx, func(tx *gorm.DB) error {
		uin, err := targetUin(tx, owner, caller, target)
		if err != nil {
			return err
		}
		q := tx.Where("secret_id = ? AND uin = ?", secretId, uin)
		var res *gorm.DB
		if status == "" {
			res = q.Delete(&APIKey{})
		} else {
			res = q.Model(&APIKey{}).Update("status", status)
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return tcerr.New(CodeAccessKeyNotFound, "User %s has no API key %s.", uin, tcerr.MaskSecretId(secretId))
		}
		return nil
	})
}

var policyName = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,128}$`)

// CreatePolicy stores owner's custom policy; the document was validated by the caller.
func (s *Store) CreatePolicy(ctx context.Context, owner, name, description, document string) (*Policy, error) {
	if !policyName.MatchString(name) {
		return nil, tcerr.New(CodePolicyNameError, "The policy name %q is invalid: 1 to 128 of letters, digits and +=,.@_-.", name)
	}
	nowMs := s.now().UnixMilli()
	p := &Policy{OwnerUin: owner, Name: name, Description: description, Document: document, Type: PolicyCustom, CreatedAtMs: nowMs, UpdatedAtMs: nowMs}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Policy{}).Where("name = ? AND owner_uin IN ?", name, []string{owner, ""}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return tcerr.New(CodePolicyNameInUse, "A policy named %q already exists.", name)
		}
		return tx.Create(p).Error
	})
	return p, err
}

// PolicyByID returns a preset or one of owner's policies.
func (s *Store) PolicyByID(ctx context.Context, owner string, id uint64) (*Policy, error) {
	var p Policy
	err := s.writer(ctx).Where("id = ? AND owner_uin IN ?", id, []string{owner, ""}).Take(&p).Error
	if isNotFound(err) {
		return nil, tcerr.New(CodePolicyIdNotFound, "The policy %d does not exist.", id)
	}
	return &p, err
}

// PolicyListing is a policy with how many users it is attached to.
type PolicyListing struct {
	Policy
	Attachments int
}

// PolicyQuery is ListPolicies' input: Scope All, QCS (presets) or Local (custom).
type PolicyQuery struct {
	Scope    string
	Keyword  string
	Page, Rp int
}

// Policies pages through the policies owner sees.
func (s *Store) Policies(ctx context.Context, owner string, q PolicyQuery) (int64, []PolicyListing, error) {
	db := s.writer(ctx).Model(&Policy{})
	switch q.Scope {
	case "", "All":
		db = db.Where("owner_uin IN ?", []string{owner, ""})
	case "QCS":
		db = db.Where("owner_uin = '' AND type = ?", PolicyPreset)
	case "Local":
		db = db.Where("owner_uin = ?", owner)
	default:
		return 0, nil, tcerr.New("InvalidParameter.ScopeError", "Scope %q is invalid: All, QCS or Local.", q.Scope)
	}
	if q.Keyword != "" {
		db = db.Where("name LIKE ? ESCAPE '\\'", "%"+strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(q.Keyword)+"%")
	}
	var total int64
	if err := db.Count(&total).Error; err != nil {
		return 0, nil, err
	}
	var rows []PolicyListing
	err := db.Select("policies.*, (SELECT COUNT(*) FROM policy_attachments a WHERE a.policy_id = policies.id) AS attachments").
		Order("id").Offset((q.Page - 1) * q.Rp).Limit(q.Rp).Scan(&rows).Error
	return total, rows, err
}

// DeletePolicies deletes owner's custom policies (and their attachments); presets and
// unknown ids are refused and nothing is deleted.
func (s *Store) DeletePolicies(ctx context.Context, owner string, ids []uint64) error {
	defer s.camChanged()
	return s.write(ctx, func(tx *gorm.DB) error {
		for _, id := range ids {
			var n int64
			if err := tx.Model(&Policy{}).Where("id = ? AND owner_uin = ?", id, owner).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return tcerr.New(CodePolicyIdNotExist, "The policy %d does not exist among the custom policies of account %s.", id, owner)
			}
		}
		if err := tx.Where("policy_id IN ?", ids).Delete(&PolicyAttachment{}).Error; err != nil {
			return err
		}
		return tx.Where("id IN ?", ids).Delete(&Policy{}).Error
	})
}

// AttachPolicy attaches a policy to one of owner's sub-users (idempotent).
func (s *Store) AttachPolicy(ctx context.Context, owner string, id uint64, uin string) error {
	defer s.camChanged()
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := policyAndUser(tx, owner, id, uin); err != nil {
			return err
		}
		return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&PolicyAttachment{PolicyId: id, Uin: uin, AttachedAtMs: s.now().UnixMilli()}).Error
	})
}

// DetachPolicy removes an attachment.
func (s *Store) DetachPolicy(ctx context.Context, owner string, id uint64, uin string) error {
	defer s.camChanged()
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := policyAndUser(tx, owner, id, uin); err != nil {
			return err
		}
		return tx.Where("policy_id = ? AND uin = ?", id, uin).Delete(&PolicyAttachment{}).Error
	})
}

func policyAndUser(tx *gorm.DB, owner string, id uint64, uin string) error {
	var n int64
	if err := tx.Model(&Policy{}).Where("id = ? AND owner_uin IN ?", id, []string{owner, ""}).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return tcerr.New(CodePolicyIdNotFound, "The policy %d does not exist.", id)
	}
	if err := tx.Model(&SubUser{}).Where("owner_uin = ? AND uin = ?", owner, uin).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return tcerr.New(CodeSubUserNotExist, "The sub-user %s does not exist in account %s.", uin, owner)
	}
	return nil
}

// AttachedPolicy is a policy attached to a user, with when.
type AttachedPolicy struct {
	Policy
	AttachedAtMs int64
}

// AttachedPolicies returns the policies attached to uin, in attachment order; owner
// scopes the lookup (a uin of another account has none).
func (s *Store) AttachedPolicies(ctx context.Context, owner, uin string) ([]AttachedPolicy, error) {
	key := owner + "/" + uin
	gen := s.camGen.Load()
	if e, ok := s.attached.Load(key); ok && e.(attachedEntry).gen == gen {
		return e.(attachedEntry).policies, nil
	}
	var out []AttachedPolicy
	err := s.writer(ctx).Table("policy_attachments a").
		Select("p.*, a.attached_at_ms").Joins("JOIN policies p ON p.id = a.policy_id").
		Joins("JOIN sub_users u ON u.uin = a.uin AND u.owner_uin = ?", owner).
		Where("a.uin = ?", uin).Order("a.attached_at_ms, p.id").Scan(&out).Error
	if err == nil {
		s.attached.Store(key, attachedEntry{gen: gen, policies: out})
	}
	return out, err
}

type attachedEntry struct {
	gen      uint64
	policies []AttachedPolicy
}

// camChanged invalidates the cached attachments after a committed change.
func (s *Store) camChanged() { s.camGen.Add(1) }

// CheckSubUser reports whether uin is one of owner's sub-users (for TargetUin-style inputs).
func (s *Store) CheckSubUser(ctx context.Context, owner, uin string) error {
	var n int64
	if err := s.writer(ctx).Model(&SubUser{}).Where("owner_uin = ? AND uin = ?", owner, uin).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return tcerr.New(CodeSubUserNotExist, "The sub-user %s does not exist in account %s.", uin, owner)
	}
	return nil
}

// String renders a principal as CAM names it: qcs::cam::uin/<owner>:uin/<user>.
func Principal(owner, uin string) string {
	return fmt.Sprintf("qcs::cam::uin/%s:uin/%s", owner, uin)
}

// OwnerOf returns the root account of uin (itself for a root account).
func (s *Store) OwnerOf(ctx context.Context, uin string) (string, error) {
	var owners []string
	err := s.writer(ctx).Table("accounts").Where("uin = ?", uin).Pluck("COALESCE(owner_uin, uin)", &owners).Error
	if err != nil {
		return "", err
	}
	if len(owners) == 0 {
		return "", tcerr.New(CodeSubUserNotExist, "The account %s does not exist.", uin)
	}
	return owners[0], nil
}
