package ui

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"conceptstudio/app"
)

// spanKind says how one piece of a prompt is shown.
type spanKind int

const (
	spanPlain          spanKind = iota // spaces, punctuation, known words
	spanConcept                        // name* of a concept in the library
	spanUnknownConcept                 // name* that no concept answers to
	spanUnknownWord                    // a word the base model does not know
)

func (k spanKind) String() string {
	return [...]string{"plain", "concept", "unknown concept", "unknown word"}[k]
}

// promptSpan is a run of the prompt, in runes: text[Start:End].
type promptSpan struct {
	Start, End int
	Kind       spanKind
	Text       string
	Name       string // the concept name (without '*') or the lower-case word
}

// lexicon is what the prompt is checked against: the library's concept
// names and the base model's vocabulary (nil when not known, and then no
// word is flagged).
type lexicon struct {
	concepts map[string]bool
	vocab    map[string]bool
}

func newLexicon(concepts, vocab []string) lexicon {
	l := lexicon{concepts: map[string]bool{}}
	for _, c := range concepts {
		l.concepts[c] = true
	}
	if vocab != nil {
		l.vocab = make(map[string]bool, len(vocab))
		for _, w := range vocab {
			l.vocab[strings.ToLower(w)] = true
		}
	}
	return l
}

// conceptNames lists the known concepts, sorted.
func (l lexicon) conceptNames() []string {
	out := make([]string, 0, len(l.concepts))
	for c := range l.concepts {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// knowsWord reports whether the base model knows w; every word counts as
// known while the vocabulary is not available.
func (l lexicon) knowsWord(w string) bool {
	return l.vocab == nil || l.vocab[strings.ToLower(w)]
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// validConceptName mirrors engine.ValidName: 1 to 32 lower-case letters
// and digits, starting with a letter.
func validConceptName(name string) bool {
	if name == "" || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// lexPrompt splits text into spans. A word directly followed by '*' is a
// pseudo-word; other words are checked against the vocabulary. Spans cover
// the whole text, in order, and plain neighbours are merged.
func lexPrompt(text string, lex lexicon) []promptSpan {
	rs := []rune(text)
	var spans []promptSpan
	add := func(start, end int, kind spanKind, name string) {
		if start == end {
			return
		}
		if n := len(spans); n > 0 && kind == spanPlain && spans[n-1].Kind == spanPlain {
			spans[n-1].End = end
			spans[n-1].Text = string(rs[spans[n-1].Start:end])
			return
		}
		spans = append(spans, promptSpan{Start: start, End: end, Kind: kind, Text: string(rs[start:end]), Name: name})
	}
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i]) {
			j := i
			for j < len(rs) && !isWordRune(rs[j]) {
				j++
			}
			add(i, j, spanPlain, "")
			i = j
			continue
		}
		j := i
		for j < len(rs) && isWordRune(rs[j]) {
			j++
		}
		word := string(rs[i:j])
		switch {
		case j < len(rs) && rs[j] == '*':
			kind := spanUnknownConcept
			if lex.concepts[word] {
				kind = spanConcept
			}
			add(i, j+1, kind, word)
			j++
		case !hasLetter(word) || lex.knowsWord(word):
			add(i, j, spanPlain, "")
		default:
			add(i, j, spanUnknownWord, strings.ToLower(word))
		}
		i = j
	}
	return spans
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// conceptsInPrompt lists the pseudo-words of the prompt in order of first
// use, each once, known or not.
func conceptsInPrompt(spans []promptSpan) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range spans {
		if (s.Kind == spanConcept || s.Kind == spanUnknownConcept) && !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	return out
}

// promptHints are the lines shown under the prompt: one per unknown concept
// and one per unknown word, each once.
func promptHints(spans []promptSpan, lex lexicon) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range spans {
		key := s.Kind.String() + ":" + s.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		switch s.Kind {
		case spanUnknownConcept:
			line := fmt.Sprintf("unknown concept: %s* — train it or import it", s.Name)
			if !validConceptName(s.Name) {
				line = fmt.Sprintf("unknown concept: %s* — concept names are lower-case letters and digits, starting with a letter", s.Name)
			} else if near := nearestConcept(s.Name, lex.conceptNames()); near != "" {
				line += fmt.Sprintf(" (did you mean %s*?)", near)
			}
			out = append(out, line)
		case spanUnknownWord:
			out = append(out, fmt.Sprintf("unknown word: %s — the base model has not learned it and will ignore it", s.Name))
		}
	}
	return out
}

// nearestConcept is the known name closest to name (edit distance at most
// 2, or a prefix either way); "" when none is close.
func nearestConcept(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		d := app.EditDistance(name, k)
		if strings.HasPrefix(k, name) || strings.HasPrefix(name, k) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// wordBefore returns the word that ends at rune offset pos in text (the
// prefix being typed) and where it starts; "" when pos follows no word or
// the word is already a pseudo-word.
func wordBefore(text string, pos int) (word string, start int) {
	rs := []rune(text)
	if pos > len(rs) {
		pos = len(rs)
	}
	start = pos
	for start > 0 && isWordRune(rs[start-1]) {
		start--
	}
	if pos < len(rs) && (isWordRune(rs[pos]) || rs[pos] == '*') {
		return "", pos // in the middle of a word or before its '*'
	}
	return string(rs[start:pos]), start
}

// completions lists the known concepts that start with prefix, sorted.
func completions(prefix string, known []string) []string {
	if prefix == "" {
		return nil
	}
	var out []string
	for _, k := range known {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// commonPrefix is the longest prefix of all names.
func commonPrefix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	p := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}
