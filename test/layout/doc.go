// Package layout checks the architecture that DESIGN.md's layout table
// describes, from outside the packages: what the shipped binaries link.
package layout
