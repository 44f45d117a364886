package ui

import "fyne.io/fyne/v2"

// onMain runs f on the window's goroutine: every result of background
// work (generation, training, previews, dialogs) reaches the widgets
// through it, never from the job's own goroutine. It is fyne.Do in the
// program; the tests put a queue here that the test goroutine drains, so
// that widgets are only ever touched by one goroutine (go test -race).
var onMain = fyne.Do
