package dataset

// Category names, as emoji.json spells them.
const (
	CatAnimals    = "Animals & Nature"
	CatFood       = "Food & Drink"
	CatObjects    = "Objects"
	CatTravel     = "Travel & Places"
	CatActivities = "Activities"
)

// Emoji is one entry of the curated list: the caption name the prompts use,
// the code point sequence (emoji.json's "unified", upper case) and the
// emoji.json category it comes from.
type Emoji struct {
	Name     string // one or two plain lower-case words, unique in the list
	Code     string // e.g. "1F9F8", "1F6CB-FE0F"
	Category string
	Plural   bool // the name is a plural ("grapes"): captions use no article
}

// Emojis is the curated world of the base model: 120 emoji, each in two
// styles (Twemoji and Noto), so 240 sprites.
//
// Why 120 and not the ~850 emoji of the five categories: the calibration run
// (shared/reference/CALIBRATION.md) trained a 4M-parameter UNet on exactly
// 120 emoji × 2 styles for 44 minutes (88k images seen) and every object was
// still a blob of roughly the right colours; recognisable objects need
// roughly 0.5-1.5M images seen. At a fixed budget of images, the number of
// times each class is seen is budget/classes, so with 850 classes each would
// be seen ~7× less often than with 120 and the base model would never get
// past blobs on this CPU. 120 keeps every super-category a user is likely to
// personalise (the required ones are listed first) plus enough neighbours in
// each category (other animals, other vehicles, other food) that the model
// must learn shapes, not just "the orange one". Each name is seen
// ~1M/120 ≈ 8k times at the 1M-image mark.
//
// The list is the one knob for the world's size: delete lines (or add
// entries with has_img_twitter and has_img_google in emoji.json) and re-run
// `conceptstudio dataset`; the atlas, the tokenizer's vocabulary and the
// scene sampler all follow it. Names are one or two plain lower-case words;
// no word may appear in two names (so each word points at one emoji) or be
// one of the caption grammar's words (colours, positions, sizes, patterns);
// TestEmojiList checks this.
var Emojis = []Emoji{
	// The super-categories personal concepts belong to (required).
	{"teddy bear", "1F9F8", CatActivities, false},
	{"teapot", "1FAD6", CatFood, false},
	{"dog", "1F415", CatAnimals, false},
	{"cat", "1F408", CatAnimals, false},
	{"couch", "1F6CB-FE0F", CatObjects, false}, // "couch and lamp"
	{"car", "1F697", CatTravel, false},         // "automobile"
	{"house", "1F3E0", CatTravel, false},       // "house building"
	{"cup", "2615", CatFood, false},            // "hot beverage"
	{"bird", "1F426", CatAnimals, false},
	{"flower", "1F33C", CatAnimals, false}, // "blossom"
	{"tree", "1F333", CatAnimals, false},   // "deciduous tree"
	{"boat", "26F5", CatTravel, false},     // "sailboat"
	{"guitar", "1F3B8", CatObjects, false},
	{"rocket", "1F680", CatTravel, false},
	{"tent", "26FA", CatTravel, false},
	{"penguin", "1F427", CatAnimals, false},
	{"koala", "1F428", CatAnimals, false},
	{"cactus", "1F335", CatAnimals, false},

	// Animals & Nature.
	{"monkey", "1F412", CatAnimals, false},
	{"fox", "1F98A", CatAnimals, false},
	{"lion", "1F981", CatAnimals, false},
	{"tiger", "1F405", CatAnimals, false},
	{"horse", "1F40E", CatAnimals, false},
	{"cow", "1F404", CatAnimals, false},
	{"pig", "1F416", CatAnimals, false},
	{"sheep", "1F411", CatAnimals, false},
	{"elephant", "1F418", CatAnimals, false},
	{"giraffe", "1F992", CatAnimals, false},
	{"rabbit", "1F407", CatAnimals, false},
	{"duck", "1F986", CatAnimals, false},
	{"owl", "1F989", CatAnimals, false},
	{"parrot", "1F99C", CatAnimals, false},
	{"turtle", "1F422", CatAnimals, false},
	{"snake", "1F40D", CatAnimals, false},
	{"dinosaur", "1F996", CatAnimals, false}, // "t-rex"
	{"whale", "1F40B", CatAnimals, false},
	{"fish", "1F41F", CatAnimals, false},
	{"octopus", "1F419", CatAnimals, false},
	{"crab", "1F980", CatAnimals, false},
	{"butterfly", "1F98B", CatAnimals, false},
	{"bee", "1F41D", CatAnimals, false},
	{"ladybug", "1F41E", CatAnimals, false},
	{"rose", "1F339", CatAnimals, false},
	{"sunflower", "1F33B", CatAnimals, false},
	{"palm", "1F334", CatAnimals, false}, // "palm tree" (not "tree": each word names one emoji)
	{"mushroom", "1F344", CatAnimals, false},

	// Food & Drink.
	{"grapes", "1F347", CatFood, true},
	{"watermelon", "1F349", CatFood, false},
	{"lemon", "1F34B", CatFood, false},
	{"banana", "1F34C", CatFood, false},
	{"pineapple", "1F34D", CatFood, false},
	{"apple", "1F34E", CatFood, false},
	{"cherries", "1F352", CatFood, true},
	{"strawberry", "1F353", CatFood, false},
	{"avocado", "1F951", CatFood, false},
	{"eggplant", "1F346", CatFood, false},
	{"carrot", "1F955", CatFood, false},
	{"broccoli", "1F966", CatFood, false},
	{"bread", "1F35E", CatFood, false},
	{"croissant", "1F950", CatFood, false},
	{"cheese", "1F9C0", CatFood, false},
	{"burger", "1F354", CatFood, false},
	{"fries", "1F35F", CatFood, true},
	{"pizza", "1F355", CatFood, false},
	{"ice cream", "1F366", CatFood, false}, // "soft ice cream"
	{"doughnut", "1F369", CatFood, false},
	{"cookie", "1F36A", CatFood, false},
	{"cake", "1F382", CatFood, false}, // "birthday cake"
	{"lollipop", "1F36D", CatFood, false},
	{"beer", "1F37A", CatFood, false},

	// Objects.
	{"glasses", "1F453", CatObjects, true},
	{"shirt", "1F455", CatObjects, false},
	{"dress", "1F457", CatObjects, false},
	{"crown", "1F451", CatObjects, false},
	{"hat", "1F3A9", CatObjects, false}, // "top hat"
	{"sneaker", "1F45F", CatObjects, false},
	{"headphones", "1F3A7", CatObjects, true},
	{"trumpet", "1F3BA", CatObjects, false},
	{"violin", "1F3BB", CatObjects, false},
	{"drum", "1F941", CatObjects, false},
	{"phone", "1F4F1", CatObjects, false},
	{"laptop", "1F4BB", CatObjects, false},
	{"camera", "1F4F7", CatObjects, false},
	{"candle", "1F56F-FE0F", CatObjects, false},
	{"light bulb", "1F4A1", CatObjects, false},
	{"key", "1F511", CatObjects, false},
	{"hammer", "1F528", CatObjects, false},
	{"scissors", "2702-FE0F", CatObjects, true},
	{"bed", "1F6CF-FE0F", CatObjects, false},
	{"chair", "1FA91", CatObjects, false},

	// Travel & Places.
	{"volcano", "1F30B", CatTravel, false},
	{"castle", "1F3F0", CatTravel, false},
	{"train", "1F682", CatTravel, false}, // "steam locomotive"
	{"bus", "1F68C", CatTravel, false},
	{"taxi", "1F695", CatTravel, false},
	{"truck", "1F69A", CatTravel, false},
	{"bicycle", "1F6B2", CatTravel, false},
	{"airplane", "2708-FE0F", CatTravel, false},
	{"helicopter", "1F681", CatTravel, false},
	{"ship", "1F6A2", CatTravel, false},
	{"sun", "2600-FE0F", CatTravel, false},
	{"moon", "1F319", CatTravel, false}, // "crescent moon"
	{"cloud", "2601-FE0F", CatTravel, false},
	{"rainbow", "1F308", CatTravel, false},
	{"umbrella", "2602-FE0F", CatTravel, false},
	{"snowman", "2603-FE0F", CatTravel, false},
	{"suitcase", "1F9F3", CatTravel, false}, // "luggage"

	// Activities.
	{"pumpkin", "1F383", CatActivities, false}, // "jack-o-lantern"
	{"balloon", "1F388", CatActivities, false},
	{"gift", "1F381", CatActivities, false},
	{"trophy", "1F3C6", CatActivities, false},
	{"football", "26BD", CatActivities, false}, // "soccer ball"
	{"basketball", "1F3C0", CatActivities, false},
	{"baseball", "26BE", CatActivities, false},
	{"kite", "1FA81", CatActivities, false},
	{"dice", "1F3B2", CatActivities, false},
	{"puzzle", "1F9E9", CatActivities, false},
	{"palette", "1F3A8", CatActivities, false},
	{"yarn", "1F9F6", CatActivities, false},
	{"crystal ball", "1F52E", CatActivities, false},
}

// RequiredNames are the super-categories that must always be in the world:
// personal concepts are taught relative to them.
var RequiredNames = []string{
	"teddy bear", "teapot", "dog", "cat", "couch", "car", "house", "cup",
	"bird", "flower", "tree", "boat", "guitar", "rocket", "tent", "penguin",
	"koala", "cactus",
}

// PersonalObject is a Microsoft Fluent 3D emoji used as a "personal" object:
// never in base training, only as the thing a user personalises from.
type PersonalObject struct {
	Name  string // the super-category (an Emojis name), e.g. "teddy bear"
	Code  string // Fluent 3D asset code, lower case as the package spells it
	File  string // file name under assets/personal
	Short string // short folder name for examples/, e.g. "teddy"
}

// PersonalObjects are shipped at 64×64 in assets/personal.
var PersonalObjects = []PersonalObject{
	{"teddy bear", "1f9f8", "teddy_bear.png", "teddy"},
	{"teapot", "1fad6", "teapot.png", "teapot"},
	{"dog", "1f415", "dog.png", "dog"},
	{"cat", "1f408", "cat.png", "cat"},
	{"couch", "1f6cb-fe0f", "couch.png", "couch"},
	{"cup", "2615", "cup.png", "cup"},
	{"car", "1f697", "car.png", "car"},
	{"penguin", "1f427", "penguin.png", "penguin"},
}

// ExampleObjects are the personal objects that get example "photos" in the
// repository's examples/ folder (examples/<Short>/<n>.png).
var ExampleObjects = []string{"teddy bear", "teapot", "dog", "couch"}

// ExamplesPerObject is how many example photos each ExampleObjects entry gets.
const ExamplesPerObject = 5
