// Package icons holds Concept Studio's bundled resources, made with
// `fyne bundle` (run `make icons` after changing the PNGs).
package icons
