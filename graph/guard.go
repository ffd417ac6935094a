package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/airouter/credits/auth"
)

// Codes of the refusals made before validation. They are protocol errors:
// gqlgen answers them as it answers a parse or validation failure.
const (
	codeTooLarge        = "QUERY_TOO_LARGE"
	codeUnauthenticated = "UNAUTHENTICATED"
)

func init() {
	errcode.RegisterErrorType(codeTooLarge, errcode.KindProtocol)
}

// documentGuard runs before gqlgen parses and validates a request. gqlparser's
// validation is quadratic in places (overlapping fields: 4,000 repeats of
// one field cost seconds of CPU), so the document's size is bounded first,
// with a parse that is linear and stops at the token limit. An anonymous
// request may only run introspection (the playground and codegen tools fetch
// the schema without a token); anything else is refused here, before
// validation, instead of per field afterwards.
type documentGuard struct {
	limits Limits
	// cached reports whether gqlgen's query cache holds a document that
	// already passed validation (and so this guard).
	cached func(ctx context.Context, query string) (*ast.QueryDocument, bool)
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentGuard{}

func (documentGuard) ExtensionName() string                   { return "DocumentGuard" }
func (documentGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (g documentGuard) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if err := ctx.Err(); err != nil { // the client is gone: do no work for it
		return tooLarge("the request was cancelled")
	}
	_, authenticated := auth.CallerFrom(ctx)
	if !authenticated && !g.limits.Introspection {
		refuse(ctx, refusalUnauthenticated)
		return unauthenticated()
	}
	doc, ok := g.cached(ctx, p.Query)
	if !ok {
		var err error
		doc, err = parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, g.limits.MaxTokens)
		if err != nil {
			// Leave syntax errors to gqlgen, which reports them as it always
			// has; the token limit is ours to name.
			if gerr, ok := err.(*gqlerror.Error); ok && isTokenLimit(gerr) {
				return tooLarge(fmt.Sprintf("the document has more than %d tokens", g.limits.MaxTokens))
			}
			return nil
		}
		if err := g.checkSize(doc); err != nil {
			return err
		}
	}
	if !authenticated {
		if op := doc.Operations.ForName(p.OperationName); op != nil && !introspectionOnly(op.SelectionSet, doc.Fragments, 0) {
			refuse(ctx, refusalUnauthenticated)
			return unauthenticated()
		}
	}
	return nil
}

// checkSize counts what validation's cost grows with.
func (g documentGuard) checkSize(doc *ast.QueryDocument) *gqlerror.Error {
	if n := len(doc.Fragments); n > g.limits.MaxFragments {
		return tooLarge(fmt.Sprintf("the document defines %d fragments; the limit is %d", n, g.limits.MaxFragments))
	}
	var c sizeCount
	for _, op := range doc.Operations {
		c.add(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		c.add(f.SelectionSet)
	}
	switch {
	case c.selections > g.limits.MaxSelections:
		return tooLarge(fmt.Sprintf("the document has %d selections; the limit is %d", c.selections, g.limits.MaxSelections))
	case c.aliases > g.limits.MaxAliases:
		return tooLarge(fmt.Sprintf("the document has %d aliases; the limit is %d", c.aliases, g.limits.MaxAliases))
	}
	return nil
}

type sizeCount struct{ selections, aliases int }

// add counts a selection set as written (fragments once, where defined).
func (c *sizeCount) add(set ast.SelectionSet) {
	for _, sel := range set {
		c.selections++
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				c.aliases++
			}
			c.add(s.SelectionSet)
		case *ast.InlineFragment:
			c.add(s.SelectionSet)
		}
	}
}

// introspectionOnly reports whether every root field is __schema, __type
// or __typename (through fragments, which validation later checks).
func introspectionOnly(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int) bool {
	if seen > 16 {
		return false
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !isIntrospectionField(s.Name) && s.Name != "__typename" {
				return false
			}
		case *ast.InlineFragment:
			if !introspectionOnly(s.SelectionSet, frags, seen+1) {
				return false
			}
		case *ast.FragmentSpread:
			f := frags.ForName(s.Name)
			if f == nil || !introspectionOnly(f.SelectionSet, frags, seen+1) {
				return false
			}
		}
	}
	return true
}

func isIntrospectionField(name string) bool { return name == "__schema" || name == "__type" }

func isTokenLimit(err *gqlerror.Error) bool {
	const prefix = "exceeded token limit"
	return len(err.Message) >= len(prefix) && err.Message[:len(prefix)] == prefix
}

func tooLarge(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": codeTooLarge}}
}

func unauthenticated() *gqlerror.Error {
	return &gqlerror.Error{Message: auth.ErrUnauthenticated.Error(), Extensions: map[string]any{"code": codeUnauthenticated}}
}
