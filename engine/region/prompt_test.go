package region

import (
	"strings"
	"testing"
)

func TestScenePromptSaysWhatTheGrammarCan(t *testing.T) {
	left := Region{Name: "teddy", X: 0, Y: 0.25, W: 0.45, H: 0.5}
	right := Region{Name: "cat", X: 0.55, Y: 0.3, W: 0.4, H: 0.4}
	cases := []struct {
		things []Thing
		bg     string
		want   string
		exact  bool
	}{
		{[]Thing{{"teddy*", Region{X: 0, Y: 0, W: 0.3, H: 0.3}}}, "white", "a small teddy* in the top left corner, on a white background", true},
		{[]Thing{{"owl", Region{X: 0.1, Y: 0.1, W: 0.8, H: 0.8}}}, "", "a big owl in the middle", true},
		{[]Thing{{"teddy*", left}, {"cat", right}}, "striped blue", "a teddy* on the left of a cat, on a striped blue background", true},
		{[]Thing{{"cat", right}, {"teddy*", left}}, "", "a cat on the right of a teddy*", true},
		{[]Thing{{"cat", Region{X: 0.3, Y: 0, W: 0.4, H: 0.4}}, {"apple", Region{X: 0.3, Y: 0.6, W: 0.4, H: 0.4}}}, "orange", "a cat above an apple, on an orange background", true},
		{[]Thing{{"cat", left}, {"dog", right}, {"owl", Region{X: 0, Y: 0, W: 1, H: 0.3}}}, "", "a cat next to a dog next to an owl", false},
	}
	for _, c := range cases {
		got, exact := ScenePrompt(c.things, c.bg)
		if got != c.want || exact != c.exact {
			t.Errorf("got %q (exact %v), want %q (%v)", got, exact, c.want, c.exact)
		}
	}
}

// Editing the prompt moves the boxes: "left" to "right" swaps two things'
// places; a single thing's new position moves its box there; a prompt that
// agrees with the boxes moves nothing.
func TestFollowPromptMovesBoxes(t *testing.T) {
	left := Region{Name: "teddy", X: 0, Y: 0.25, W: 0.45, H: 0.5}
	right := Region{Name: "cat", X: 0.55, Y: 0.3, W: 0.4, H: 0.4}
	things := []Thing{{"teddy*", left}, {"cat", right}}
	words := strings.Fields("a teddy* on the left of a cat")
	if _, moved := FollowPrompt(words, things); moved {
		t.Error("a prompt that agrees moved the boxes")
	}
	got, moved := FollowPrompt(strings.Fields("a teddy* on the right of a cat on a blue background"), things)
	if !moved || RelationOf(got[0].Box, got[1].Box) != "on the right of" {
		t.Fatalf("left→right: %+v moved %v", got, moved)
	}
	if got[0].Box.W != left.W || got[1].Box.H != right.H || got[0].Box.Name != "teddy" {
		t.Errorf("the boxes changed size or name: %+v", got)
	}
	got, moved = FollowPrompt(strings.Fields("a cat above a teddy*"), things)
	if !moved || RelationOf(got[1].Box, got[0].Box) != "above" {
		t.Fatalf("cat above teddy: %+v", got)
	}
	for _, g := range got {
		if g.Box.Validate() != nil && g.Box.Name != "" {
			t.Errorf("a moved box is not valid: %v", g.Box.Validate())
		}
	}
	one := []Thing{{"owl", Region{Name: "owl", X: 0, Y: 0, W: 0.3, H: 0.3}}}
	got, moved = FollowPrompt(strings.Fields("a small owl in the bottom right corner"), one)
	if !moved || PositionOf(got[0].Box) != "bottom right" || got[0].Box.W != 0.3 {
		t.Fatalf("owl to the bottom right: %+v", got)
	}
	if _, moved = FollowPrompt(strings.Fields("a small owl in the top left corner"), one); moved {
		t.Error("owl already top left moved")
	}
	three := append(things, Thing{"owl", Region{Name: "owl", X: 0, Y: 0, W: 1, H: 0.3}})
	if _, moved = FollowPrompt(strings.Fields("a teddy* next to a cat next to an owl"), three); moved {
		t.Error("three things moved on words that say nothing of them")
	}
}
