package password

import (
	"errors"
	"strings"
	"testing"
)

// cheap keeps tests fast; only BenchmarkHash pays for Default.
var cheap = Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// MustHash hashes pw with p or fails the test.
func MustHash(t testing.TB, p Params, pw string) string {
	t.Helper()
	h, err := HashWith(p, pw)
	if err != nil {
		t.Fatalf("HashWith(%+v): %v", p, err)
	}
	return h
}

func TestVerify(t *testing.T) {
	h := MustHash(t, cheap, "correct horse")
	for _, tc := range []struct {
		name string
		pw   string
		want bool
	}{
		{"OK", "correct horse", true},
		{"WrongPassword", "correct horsf", false},
		{"Empty", "", false},
		{"Prefix", "correct", false},
		{"TooLong", strings.Repeat("a", MaxLen+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(h, tc.pw)
			if err != nil {
				t.Fatalf("Verify: got error %v, want nil", err)
			}
			if got != tc.want {
				t.Errorf("Verify: got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestVerifyReference checks interoperability with the reference C
// implementation: these strings are from phc-winner-argon2 src/test.c
// (password "password", salt "somesalt").
func TestVerifyReference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		encoded string
		pw      string
		want    bool
	}{
		{"OneLane", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password", true},
		{"TwoLanes", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", "password", true},
		{"WrongPassword", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "Password", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.encoded, tc.pw)
			if err != nil {
				t.Fatalf("Verify: got error %v, want nil", err)
			}
			if got != tc.want {
				t.Errorf("Verify: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	h := MustHash(t, cheap, "pw")
	const prefix = "$argon2id$v=19$m=64,t=1,p=1$"
	if !strings.HasPrefix(h, prefix) {
		t.Errorf("hash: got %q, want prefix %q", h, prefix)
	}
	if got := strings.Count(h, "$"); got != 5 {
		t.Errorf("count of $: got %d, want 5", got)
	}
}

func TestHashSalted(t *testing.T) {
	a := MustHash(t, cheap, "same")
	b := MustHash(t, cheap, "same")
	if a == b {
		t.Errorf("two hashes of one password: got equal %q, want different", a)
	}
}

func TestHashErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Params
		pw   string
		want error
	}{
		{"ErrTooLong", cheap, strings.Repeat("a", MaxLen+1), ErrTooLong},
		{"MaxLenOK", cheap, strings.Repeat("a", MaxLen), nil},
		{"ErrParamsTimeZero", Params{Time: 0, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, "pw", ErrParams},
		{"ErrParamsThreadsZero", Params{Time: 1, MemoryKiB: 64, Threads: 0, SaltLen: 16, KeyLen: 32}, "pw", ErrParams},
		{"ErrParamsMemoryHuge", Params{Time: 1, MemoryKiB: 1<<20 + 1, Threads: 1, SaltLen: 16, KeyLen: 32}, "pw", ErrParams},
		{"ErrParamsMemoryBelowLanes", Params{Time: 1, MemoryKiB: 15, Threads: 2, SaltLen: 16, KeyLen: 32}, "pw", ErrParams},
		{"ErrParamsShortSalt", Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 4, KeyLen: 32}, "pw", ErrParams},
		{"ErrParamsShortKey", Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 0}, "pw", ErrParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := HashWith(tc.p, tc.pw)
			if !errors.Is(err, tc.want) {
				t.Errorf("HashWith: got error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := MustHash(t, cheap, "pw")
	f := strings.Split(good, "$") // "", alg, v, params, salt, key
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	for _, tc := range []struct {
		name    string
		encoded string
		want    error
	}{
		{"Empty", "", ErrMalformed},
		{"Garbage", "not a hash", ErrMalformed},
		{"NoLeadingDollar", strings.TrimPrefix(good, "$"), ErrMalformed},
		{"MissingKey", join(f[:5]...), ErrMalformed},
		{"MissingParams", join(f[0], f[1], f[2], f[4], f[5]), ErrMalformed},
		{"ExtraField", good + "$", ErrMalformed},
		{"Argon2i", join(f[0], "argon2i", f[2], f[3], f[4], f[5]), ErrMalformed},
		{"Bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", ErrMalformed},
		{"Version16", join(f[0], f[1], "v=16", f[3], f[4], f[5]), ErrMalformed},
		{"VersionMissing", join(f[0], f[1], "19", f[3], f[4], f[5]), ErrMalformed},
		{"VersionLeadingZero", join(f[0], f[1], "v=019", f[3], f[4], f[5]), ErrMalformed},
		{"ParamsOrder", join(f[0], f[1], f[2], "t=1,m=64,p=1", f[4], f[5]), ErrMalformed},
		{"ParamsMissing", join(f[0], f[1], f[2], "m=64,t=1", f[4], f[5]), ErrMalformed},
		{"ParamsNegative", join(f[0], f[1], f[2], "m=64,t=-1,p=1", f[4], f[5]), ErrMalformed},
		{"ParamsPlusSign", join(f[0], f[1], f[2], "m=+64,t=1,p=1", f[4], f[5]), ErrMalformed},
		{"ParamsOverflow", join(f[0], f[1], f[2], "m=4294967296,t=1,p=1", f[4], f[5]), ErrMalformed},
		{"ThreadsOverflow", join(f[0], f[1], f[2], "m=64,t=1,p=256", f[4], f[5]), ErrMalformed},
		{"SaltBadBase64", join(f[0], f[1], f[2], f[3], "!!!!", f[5]), ErrMalformed},
		{"SaltPadded", join(f[0], f[1], f[2], f[3], f[4]+"==", f[5]), ErrMalformed},
		{"KeyBadBase64", join(f[0], f[1], f[2], f[3], f[4], "a"), ErrMalformed},
		{"KeyWithNewline", join(f[0], f[1], f[2], f[3], f[4], f[5][:8]+"\n"+f[5][8:]), ErrMalformed},
		{"KeyURLEncoding", join(f[0], f[1], f[2], f[3], f[4], "____________________________________________"), ErrMalformed},
		{"MemoryHuge", join(f[0], f[1], f[2], "m=2097152,t=1,p=1", f[4], f[5]), ErrParams},
		{"TimeHuge", join(f[0], f[1], f[2], "m=64,t=11,p=1", f[4], f[5]), ErrParams},
		{"TimeZero", join(f[0], f[1], f[2], "m=64,t=0,p=1", f[4], f[5]), ErrParams},
		{"ThreadsZero", join(f[0], f[1], f[2], "m=64,t=1,p=0", f[4], f[5]), ErrParams},
		{"ThreadsMany", join(f[0], f[1], f[2], "m=4096,t=1,p=255", f[4], f[5]), ErrParams},
		{"SaltEmpty", join(f[0], f[1], f[2], f[3], "", f[5]), ErrParams},
		{"KeyEmpty", join(f[0], f[1], f[2], f[3], f[4], ""), ErrParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(tc.encoded, "pw")
			if !errors.Is(err, tc.want) {
				t.Errorf("Verify(%q): got error %v, want %v", tc.encoded, err, tc.want)
			}
			if ok {
				t.Errorf("Verify(%q): got true, want false", tc.encoded)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	// Build a Default-parameter string without paying for a Default hash:
	// NeedsRehash only parses.
	withDefault := encode(Default, make([]byte, Default.SaltLen), make([]byte, Default.KeyLen))
	longerKey := Default
	longerKey.KeyLen = 64
	for _, tc := range []struct {
		name    string
		encoded string
		want    bool
	}{
		{"Default", withDefault, false},
		{"Cheap", MustHash(t, cheap, "pw"), true},
		{"LongerKey", encode(longerKey, make([]byte, longerKey.SaltLen), make([]byte, longerKey.KeyLen)), true},
		{"Malformed", "$argon2id$", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeedsRehash(tc.encoded); got != tc.want {
				t.Errorf("NeedsRehash(%q): got %v, want %v", tc.encoded, got, tc.want)
			}
		})
	}
}

func TestDummy(t *testing.T) {
	d := Dummy()
	if d != Dummy() {
		t.Errorf("Dummy: got a different value on the second call, want the same")
	}
	if NeedsRehash(d) {
		t.Errorf("NeedsRehash(Dummy()): got true, want false (Default parameters)")
	}
	ok, err := Verify(d, "hunter2")
	if err != nil {
		t.Fatalf("Verify(Dummy()): got error %v, want nil", err)
	}
	if ok {
		t.Errorf("Verify(Dummy()): got true, want false")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(MustHash(f, cheap, "pw"), "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$", "")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw", "pw")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw", "pw")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		// Parameters within bounds can still cost up to 10 GiB-passes; the
		// fuzzer would spend its time (and memory) hashing, not parsing.
		if p, _, _, err := decode(encoded); err == nil && uint64(p.Time)*uint64(p.MemoryKiB) > 1<<12 {
			t.Skip("expensive parameters")
		}
		ok, err := Verify(encoded, pw)
		if err != nil && ok {
			t.Errorf("Verify(%q): got true with error %v, want false", encoded, err)
		}
		if err == nil && !strings.HasPrefix(encoded, "$argon2id$v=19$") {
			t.Errorf("Verify(%q): got nil error, want one for a non-argon2id string", encoded)
		}
		// Each hash has one spelling: what parses must format back unchanged.
		if p, salt, key, err := decode(encoded); err == nil {
			if got := encode(p, salt, key); got != encoded {
				t.Errorf("encode(decode(%q)): got %q, want the input", encoded, got)
			}
		}
	})
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMalformed(b *testing.B) {
	// Rejecting a tampered hash must cost parsing only, never a derivation.
	const tampered = "$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw"
	for b.Loop() {
		if _, err := Verify(tampered, "pw"); err == nil {
			b.Fatal("Verify: got nil error, want ErrParams")
		}
	}
}
