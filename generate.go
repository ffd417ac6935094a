// Package credits is the root of the credits service; it holds no code, only
// the one go:generate entry point for everything generated (ent, gqlgen).
package credits

//go:generate go run -mod=mod ./ent/entc.go
//go:generate go run -mod=mod github.com/99designs/gqlgen generate
