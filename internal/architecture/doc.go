// Package architecture holds no code: its test enforces the dependency rules
// of DESIGN.md on every package of the module, so the layout cannot decay
// quietly.
package architecture
