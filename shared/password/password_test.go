package password

import (
	"errors"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
	}{
		{"every printable character", Spec{Length: 32, Allowed: Printable, RequireEachClass: true}},
		{"letters and digits", Spec{Length: 8, Allowed: Lowercase + Uppercase + Digits, RequireEachClass: true}},
		{"one class", Spec{Length: 64, Allowed: Digits}},
		{"exactly one of each class", Spec{Length: 4, Allowed: Printable, RequireEachClass: true}},
		{"with space", Spec{Length: 10, Allowed: Lowercase + Space, RequireEachClass: true}},
		{"duplicates and non-ASCII in Allowed are ignored", Spec{Length: 16, Allowed: "aaaé\x00bb", RequireEachClass: true}},
		{"longest", Spec{Length: MaxLength, Allowed: Printable}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 50 {
				pw, err := Generate(c.spec)
				if err != nil {
					t.Fatal(err)
				}
				if len(pw) != c.spec.Length {
					t.Fatalf("want length %d, got %d", c.spec.Length, len(pw))
				}
				if bad := Without(pw, c.spec.Allowed); bad != "" {
					t.Fatalf("want only allowed characters, got %d others", len(bad))
				}
				if strings.ContainsAny(pw, "é\x00") {
					t.Fatalf("want printable ASCII only")
				}
				if !c.spec.RequireEachClass {
					continue
				}
				for _, class := range Classes {
					if Intersect(class, c.spec.Allowed) != "" && !strings.ContainsAny(pw, class) {
						t.Fatalf("want a character of class %q", class)
					}
				}
			}
		})
	}
}

func TestGenerateRefusesBadSpecs(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
	}{
		{"zero length", Spec{Length: 0, Allowed: Printable}},
		{"too long", Spec{Length: MaxLength + 1, Allowed: Printable}},
		{"nothing allowed", Spec{Length: 8, Allowed: ""}},
		{"only unprintable allowed", Spec{Length: 8, Allowed: "\t\n"}},
		{"shorter than the required classes", Spec{Length: 3, Allowed: Printable, RequireEachClass: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Generate(c.spec); !errors.Is(err, ErrSpec) {
				t.Errorf("want ErrSpec, got %v", err)
			}
		})
	}
}

// TestGenerateUsesEveryCharacter is a coarse check that the generator
// draws from the whole set, not a part of it: over 200,000 characters from
// 94, every one turns up (the chance that a fair draw misses one is below
// 1e-900).
func TestGenerateUsesEveryCharacter(t *testing.T) {
	seen := map[rune]int{}
	for range 50 {
		pw, err := Generate(Spec{Length: MaxLength, Allowed: Printable})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range pw {
			seen[r]++
		}
	}
	if len(seen) != len(Printable) {
		t.Errorf("want all %d characters drawn, got %d", len(Printable), len(seen))
	}
	for r, n := range seen {
		// The mean is about 2180; a fair draw stays far from these bounds.
		if n < 1500 || n > 2900 {
			t.Errorf("character %q drawn %d times, want about 2180", r, n)
		}
	}
}
