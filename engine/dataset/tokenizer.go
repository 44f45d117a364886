package dataset

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Special token ids.
const (
	PadID   = 0 // padding after the end
	StartID = 1 // first token of every encoding
	EndID   = 2 // after the last word
)

// Special tokens' surface forms in Vocab.
const (
	padToken      = "<pad>"
	startToken    = "<start>"
	endToken      = "<end>"
	reservedToken = "<reserved>"
)

// DefaultReserved is the number of pseudo-word rows a base model keeps.
const DefaultReserved = 32

// MaxCaptionTokens is enough for any caption the grammar makes, with the
// start and end tokens (the longest is 19: "on a checkered yellow
// background, a big teddy bear on the left of a small crystal ball").
const MaxCaptionTokens = 24

// Tokenizer errors (errors.Is).
var (
	ErrUnknownWords = errors.New("unknown words")
	ErrTooLong      = errors.New("prompt too long")
	ErrNoFreeSlot   = errors.New("no free pseudo-word slot")
	ErrBadPseudo    = errors.New("a pseudo-word is lower-case letters and digits, starting with a letter")
)

// Tokenizer is word-level over the caption grammar's vocabulary. Ids:
// 0 <pad>, 1 <start>, 2 <end>, then the words in alphabetical order, then
// the reserved pseudo-word rows. A reserved row's surface form is
// "<reserved>" until BindPseudoWord gives it "name*". Text is lower-cased
// and split at anything that is not a letter, digit or '*', so punctuation
// is dropped. It is safe for concurrent use.
type Tokenizer struct {
	mu       sync.RWMutex
	vocab    []string
	ids      map[string]int
	reserved int // first reserved id
}

// NewTokenizer builds the tokenizer for an atlas: the grammar's words and
// every word of every sprite name, plus reserved pseudo-word rows.
func NewTokenizer(a *Atlas, reserved int) *Tokenizer {
	set := map[string]bool{}
	for _, w := range GrammarWords() {
		set[w] = true
	}
	for _, n := range a.names {
		for _, w := range strings.Fields(n) {
			set[w] = true
		}
	}
	words := make([]string, 0, len(set))
	for w := range set {
		words = append(words, w)
	}
	sort.Strings(words)
	vocab := append([]string{padToken, startToken, endToken}, words...)
	for range max(reserved, 0) {
		vocab = append(vocab, reservedToken)
	}
	t, err := NewTokenizerFromVocab(vocab)
	if err != nil {
		panic(err) // unreachable: the words are validated atlas names
	}
	return t
}

// NewTokenizerFromVocab rebuilds a tokenizer from a saved Vocab() (for
// example one stored with a model): ids are the list's indices, rows
// "<reserved>" are free pseudo-word slots and rows "name*" bound ones.
// Reserved rows must come last.
func NewTokenizerFromVocab(vocab []string) (*Tokenizer, error) {
	if len(vocab) < 3 || vocab[PadID] != padToken || vocab[StartID] != startToken || vocab[EndID] != endToken {
		return nil, errors.New("dataset: vocabulary must start with <pad>, <start>, <end>")
	}
	t := &Tokenizer{vocab: slices.Clone(vocab), ids: map[string]int{}, reserved: len(vocab)}
	for i := 3; i < len(vocab); i++ {
		w := vocab[i]
		isRes := w == reservedToken || strings.HasSuffix(w, "*")
		if isRes && t.reserved == len(vocab) {
			t.reserved = i
		}
		if !isRes && t.reserved < len(vocab) {
			return nil, fmt.Errorf("dataset: vocabulary word %q after the reserved rows", w)
		}
		if w == reservedToken {
			continue
		}
		word := strings.TrimSuffix(w, "*")
		if !validPseudo(word) {
			return nil, fmt.Errorf("dataset: bad vocabulary word %q", w)
		}
		if _, dup := t.ids[w]; dup {
			return nil, fmt.Errorf("dataset: vocabulary word %q twice", w)
		}
		t.ids[w] = i
	}
	return t, nil
}

func validPseudo(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Words splits text the way Encode does: lower-cased runs of letters,
// digits and '*'.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '*')
	})
}

// Encode turns text into ids: <start>, one id per word, <end>, then <pad>
// up to maxLen (maxLen ≤ 0: no padding and no limit). Unknown words
// (including unbound pseudo-words) are all returned in unknown, in order,
// with an error wrapping ErrUnknownWords; a prompt with more than maxLen-2
// words gets an error wrapping ErrTooLong. On error ids is nil.
func (t *Tokenizer) Encode(text string, maxLen int) (ids []int, unknown []string, err error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	words := Words(text)
	ids = make([]int, 0, max(maxLen, len(words)+2))
	ids = append(ids, StartID)
	for _, w := range words {
		id, ok := t.ids[w]
		if !ok {
			unknown = append(unknown, w)
			continue
		}
		ids = append(ids, id)
	}
	ids = append(ids, EndID)
	var errs []error
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("%w: %s", ErrUnknownWords, strings.Join(unknown, ", ")))
	}
	if maxLen > 0 && len(words)+2 > maxLen {
		errs = append(errs, fmt.Errorf("%w: %d words, at most %d", ErrTooLong, len(words), maxLen-2))
	}
	if len(errs) > 0 {
		return nil, unknown, errors.Join(errs...)
	}
	for len(ids) < maxLen {
		ids = append(ids, PadID)
	}
	return ids, nil, nil
}

// Decode turns ids back into text, leaving out <pad>, <start> and <end>.
// Ids out of range decode as "<?>".
func (t *Tokenizer) Decode(ids []int) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var words []string
	for _, id := range ids {
		switch {
		case id == PadID || id == StartID || id == EndID:
		case id < 0 || id >= len(t.vocab):
			words = append(words, "<?>")
		default:
			words = append(words, t.vocab[id])
		}
	}
	return strings.Join(words, " ")
}

// Vocab returns the surface form of every id (a copy).
func (t *Tokenizer) Vocab() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.vocab)
}

// Size is the number of ids (the embedding table's rows).
func (t *Tokenizer) Size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.vocab)
}

// Reserved returns the first reserved id and how many there are.
func (t *Tokenizer) Reserved() (first, n int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.reserved, len(t.vocab) - t.reserved
}

// ID returns a word's id ("dog", or a bound "teddy*").
func (t *Tokenizer) ID(word string) (int, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.ids[strings.ToLower(word)]
	return id, ok
}

// BindPseudoWord gives the pseudo-word name* (name may be written with or
// without the '*') the first free reserved row and returns its id. Binding
// a bound name again returns the same id.
func (t *Tokenizer) BindPseudoWord(name string) (int, error) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), "*")
	if !validPseudo(name) {
		return -1, fmt.Errorf("dataset: %q: %w", name, ErrBadPseudo)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	form := name + "*"
	if id, ok := t.ids[form]; ok {
		return id, nil
	}
	for id := t.reserved; id < len(t.vocab); id++ {
		if t.vocab[id] == reservedToken {
			t.vocab[id] = form
			t.ids[form] = id
			return id, nil
		}
	}
	return -1, fmt.Errorf("dataset: binding %s: %w (%d reserved)", form, ErrNoFreeSlot, len(t.vocab)-t.reserved)
}

// UnbindPseudoWord frees name*'s row; it reports whether it was bound.
func (t *Tokenizer) UnbindPseudoWord(name string) bool {
	form := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), "*") + "*"
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.ids[form]
	if !ok {
		return false
	}
	delete(t.ids, form)
	t.vocab[id] = reservedToken
	return true
}
