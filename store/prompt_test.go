package store

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParsePrompt(t *testing.T) {
	type tok struct {
		kind        TokenKind
		text, name  string
		start, stop int
	}
	cases := map[string][]tok{
		"":    nil,
		"  ,": nil,
		"a teddy* sailing": {
			{Word, "a", "a", 0, 1}, {PseudoWord, "teddy", "teddy", 2, 8}, {Word, "sailing", "sailing", 9, 16}},
		"Teddy*,teapot2*!": {{PseudoWord, "Teddy", "teddy", 0, 6}, {PseudoWord, "teapot2", "teapot2", 7, 15}},
		"*star **x y**": {
			{Word, "star", "star", 1, 5}, {Word, "x", "x", 8, 9}, {PseudoWord, "y", "y", 10, 12}},
		"café* naïve": {{PseudoWord, "café", "café", 0, 6}, {Word, "naïve", "naïve", 7, 13}},
		"a\xffb*":     {{Word, "a", "a", 0, 1}, {PseudoWord, "b", "b", 2, 4}},
		"dog's":       {{Word, "dog", "dog", 0, 3}, {Word, "s", "s", 4, 5}},
	}
	for in, want := range cases {
		var got []tok
		for _, p := range ParsePrompt(in) {
			got = append(got, tok{p.Kind, p.Text, p.Name, p.Start, p.End})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %v\nwant %v", in, got, want)
		}
	}
	if got := PseudoWords("a teddy* and a Teddy* near a cup*"); !reflect.DeepEqual(got, []string{"teddy", "cup"}) {
		t.Errorf("PseudoWords: %v", got)
	}
}

// checkTokens holds for every prompt: tokens in order, not overlapping,
// each the exact text at its offsets, on rune boundaries.
func checkTokens(t *testing.T, text string, toks []PromptToken) {
	t.Helper()
	prev := 0
	for _, tk := range toks {
		if tk.Start < prev || tk.End <= tk.Start || tk.End > len(text) {
			t.Fatalf("%q: bad offsets %+v (previous end %d)", text, tk, prev)
		}
		want := tk.Text
		if tk.Kind == PseudoWord {
			want += "*"
		}
		if text[tk.Start:tk.End] != want || tk.Name != strings.ToLower(tk.Text) {
			t.Fatalf("%q: token %+v does not match the text %q", text, tk, text[tk.Start:tk.End])
		}
		if !utf8.ValidString(tk.Text) || strings.ContainsAny(tk.Text, "* \t\n") {
			t.Fatalf("%q: token text %q", text, tk.Text)
		}
		prev = tk.End
	}
}

func FuzzParsePrompt(f *testing.F) {
	for _, s := range []string{"a teddy* sailing in a teapot*", "**", "é*", "a\xffb*", "x*y*z", "日本*語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		toks := ParsePrompt(text)
		checkTokens(t, text, toks)
		// Re-parsing the tokens joined by spaces gives the same words.
		var parts []string
		for _, tk := range toks {
			parts = append(parts, text[tk.Start:tk.End])
		}
		again := ParsePrompt(strings.Join(parts, " "))
		if len(again) != len(toks) {
			t.Fatalf("%q: %d tokens, re-joined %d", text, len(toks), len(again))
		}
		for i := range toks {
			if again[i].Text != toks[i].Text || again[i].Kind != toks[i].Kind {
				t.Fatalf("%q: token %d %+v became %+v", text, i, toks[i], again[i])
			}
		}
	})
}
