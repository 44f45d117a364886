package localefix

import "testing"

func TestApply(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string // LC_MESSAGES after Apply ("" = not set)
	}{
		{map[string]string{"LANG": "C.UTF-8"}, "C"},
		{map[string]string{"LANG": "POSIX.utf8"}, "C"},
		{map[string]string{"LANG": "C"}, ""},
		{map[string]string{"LANG": "de_DE.UTF-8"}, ""},
		{map[string]string{"LANG": "C.UTF-8", "LC_ALL": "fr_FR.UTF-8"}, ""},
		{map[string]string{"LC_MESSAGES": "C.UTF-8", "LANG": "en_GB.UTF-8"}, "C"},
	}
	for _, c := range cases {
		env := map[string]string{}
		for k, v := range c.env {
			env[k] = v
		}
		set := ""
		Apply(func(k string) string { return env[k] }, func(k, v string) error {
			if k == "LC_MESSAGES" {
				set = v
			}
			return nil
		})
		if set != c.want {
			t.Errorf("%v: LC_MESSAGES set to %q, want %q", c.env, set, c.want)
		}
	}
}
