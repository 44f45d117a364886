// Package dataset is the base model's world: emoji sprites composed into
// small captioned scenes, the word-level tokenizer for those captions, and
// the "personal" objects users teach the model.
//
// # Sources
//
// Fetch runs `npm pack` for three pinned packages (versions and sha512 in
// fetch.go): emoji-datasource-twitter and emoji-datasource-google 16.0.0
// (Twemoji and Noto 64-pixel PNGs, emoji.json) and @lobehub/fluent-emoji-3d
// 1.1.0 (Microsoft Fluent 3D, WebP). Build packs the curated list (Emojis,
// 120 names × 2 styles) into assets/atlas.png + atlas.json and the Fluent 3D
// personal objects into assets/personal; all are committed and embedded, so
// LoadAtlas needs no network. Fluent 3D images never enter base training.
//
// # Scenes
//
// A Scene is one or two sprites on a Background, at named positions (left,
// right, top, bottom, centre and the four corners) and sizes (small, big);
// two objects stand in a relation (left of, right of, above, below, next
// to). The geometry is stored exactly (Placed.CX, CY, Extent, as fractions
// of the image side) so evaluation knows the truth; see scene.go for the
// ranges behind each word. Sprites, not images, are mirrored, so left and
// right stay true. A background colour is never one the sprite is made of
// (Atlas.BackgroundAllowed). A Renderer draws a scene at any size (32 by
// default) into NHWC float32 in [-1, 1].
//
// # Caption grammar
//
// Captions are lower-case words, commas for readability only (the tokenizer
// drops punctuation):
//
//	caption  = single | pair
//	single   = np
//	         | np " " pos  |  pos ", " np
//	         | np " " bg   |  bg ", " np
//	         | np " " pos ", " bg  |  np " " bg ", " pos
//	         | pos ", " np " " bg  |  bg ", " np " " pos
//	pair     = np " " rel " " np [ ", " bg ]  |  bg ", " np " " rel " " np
//	np       = [ art " " ] [ size " " ] name      art: "a", "an" (before a vowel), none for a plural name
//	size     = "small" | "big"
//	pos      = "on the left" | "on the right" | "at the top" | "at the bottom"
//	         | "in the middle" | "in the " ( "top" | "bottom" ) " " ( "left" | "right" ) " corner"
//	rel      = "on the left of" | "on the right of" | "above" | "below" | "next to"
//	bg       = "on " art " " colour " background"
//	         | "on " art " " pattern " " colour " background"   pattern: striped, dotted, checkered
//	         | "on " art " " colour " gradient background"
//	colour   = red | orange | yellow | green | blue | purple | pink | brown
//	         | black | white | gray | teal
//	name     = an Emojis name: "dog", "teddy bear", "ice cream", ...
//
// Examples: "a dog", "a big dog on the left, on a blue background", "in the
// top right corner, a small teapot on a striped green background", "a cat
// on the left of a teapot, on a pink background", "grapes at the bottom".
// About 12% of single-object captions are the name alone; otherwise the
// size (40%), position (65%) and background (75%) are each stated or not,
// in one of the orders above. Describe returns which attributes a caption
// states.
//
// # Tokens
//
// The Tokenizer is word-level over exactly the words this grammar can
// produce (GrammarWords plus the words of every name): id 0 <pad>, 1
// <start>, 2 <end>, the words in alphabetical order, then reserved rows for
// pseudo-words written name* (BindPseudoWord). Encode reports unknown words
// and over-long prompts as errors; nothing is dropped silently.
package dataset

//go:generate go run gen.go
