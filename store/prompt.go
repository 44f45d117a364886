package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// TokenKind tells words from pseudo-words.
type TokenKind int

// Kinds of prompt tokens.
const (
	Word       TokenKind = iota // an ordinary word
	PseudoWord                  // "name*": a concept
)

// PromptToken is one word of a prompt, with its byte offsets, for
// highlighting: text[Start:End] is the token as written (including the '*'
// of a pseudo-word).
type PromptToken struct {
	Kind  TokenKind
	Text  string // the word as written, without the '*'
	Name  string // Text in lower case: the concept name of a pseudo-word
	Start int    // byte offset of the token's first byte
	End   int    // byte offset just past the token
}

// ParsePrompt splits a prompt the way the tokenizer does: words are runs of
// letters and digits, anything else separates them (punctuation is
// dropped). A word followed directly by '*' is a pseudo-word ("teddy*");
// a '*' anywhere else is ignored. Invalid UTF-8 separates words. The tokens
// come in order and do not overlap. Whether a pseudo-word names a known
// concept is for the caller to check (engine.ValidName, Library.Has).
func ParsePrompt(text string) []PromptToken {
	var out []PromptToken
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r, n) {
			i += n
			continue
		}
		start := i
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r, n) {
				break
			}
			i += n
		}
		t := PromptToken{Kind: Word, Text: text[start:i], Start: start, End: i}
		if i < len(text) && text[i] == '*' {
			i++
			t.Kind, t.End = PseudoWord, i
		}
		t.Name = strings.ToLower(t.Text)
		out = append(out, t)
	}
	return out
}

// isWordRune: a letter or digit that decoded properly.
func isWordRune(r rune, size int) bool {
	if r == utf8.RuneError && size <= 1 {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// PseudoWords returns the distinct concept names used in a prompt, in
// order of first use.
func PseudoWords(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range ParsePrompt(text) {
		if t.Kind == PseudoWord && !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t.Name)
		}
	}
	return out
}
