package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/billingprofile"
	"github.com/airouter/credits/ent/workspace"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/pdf"
	"github.com/airouter/credits/taxid"
)

// Address is a postal address; Country is ISO 3166-1 alpha-2.
type Address struct {
	Line1, Line2, City, PostalCode, State, Country string
}

// TaxID is a tax ID as entered: country, Stripe tax ID type, value.
type TaxID struct {
	Country, Type, Value string
}

// BillingProfile is who invoices are made out to.
type BillingProfile struct {
	Name    string
	Address Address
	TaxID   *TaxID
}

// maxProfileField bounds every text field of a profile (Stripe allows 5000;
// an invoice line does not need more).
const maxProfileField = 200

// normalizeProfile validates p and returns it trimmed and composed (NFC,
// the form invoices print), with the country upper-cased and the tax ID
// in its canonical form. Every text an invoice prints must print as
// entered: a script the invoice cannot render (right to left, emoji,
// control characters) is refused naming the field.
func normalizeProfile(p BillingProfile) (BillingProfile, error) {
	trim := func(s string) string { return norm.NFC.String(strings.TrimSpace(s)) }
	p.Name = trim(p.Name)
	a := &p.Address
	a.Line1, a.Line2, a.City, a.PostalCode, a.State = trim(a.Line1), trim(a.Line2), trim(a.City), trim(a.PostalCode), trim(a.State)
	a.Country = strings.ToUpper(trim(a.Country))
	fields := []struct {
		name, value string
		required    bool
	}{
		{"billing.name", p.Name, true}, {"billing.address.line1", a.Line1, true}, {"billing.address.line2", a.Line2, false},
		{"billing.address.city", a.City, true}, {"billing.address.postalCode", a.PostalCode, false}, {"billing.address.state", a.State, false},
	}
	for _, f := range fields {
		if f.required && f.value == "" {
			return p, badInput(f.name, "%s is required", f.name)
		}
		if err := checkText(f.name, f.value, maxProfileField); err != nil {
			return p, err
		}
		if err := checkPrintable(f.name, f.value); err != nil {
			return p, err
		}
	}
	if !isCountryCode(a.Country) {
		return p, badInput("billing.address.country", "billing.address.country must be a two-letter ISO 3166-1 code such as DE or US")
	}
	if p.TaxID != nil {
		id, err := taxid.Validate(taxid.ID{Country: p.TaxID.Country, Type: p.TaxID.Type, Value: p.TaxID.Value})
		if err != nil {
			var terr *taxid.Error
			if errors.As(err, &terr) {
				return p, badInput("billing.taxId."+terr.Field, "tax ID: %s", terr.Reason)
			}
			return p, badInput("billing.taxId", "tax ID: %v", err)
		}
		if err := checkPrintable("billing.taxId.value", id.Value); err != nil {
			return p, err
		}
		p.TaxID = &TaxID{Country: id.Country, Type: id.Type, Value: id.Value}
	}
	return p, nil
}

// checkPrintable refuses text an invoice or credit note cannot print as
// entered (pdf.CheckPrintable: the character, where, and why), naming the
// field; text is NFC already.
func checkPrintable(field, v string) error {
	if err := pdf.CheckPrintable(v); err != nil {
		return badInput(field, "%s cannot be printed on an invoice: %v", field, err)
	}
	return nil
}

// checkText is the one check of free text a client sends (names,
// addresses, keys): valid UTF-8, no control characters (NUL, terminal
// escapes), at most max characters. Postgres refuses NUL in text, and an
// invoice must not print what a person did not type.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return badInput(field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return badInput(field, "%s must not contain control characters (U+%04X)", field, r)
		}
	}
	if utf8.RuneCountInString(v) > max {
		return badInput(field, "%s is longer than %d characters", field, max)
	}
	return nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func profileOf(bp *ent.BillingProfile) *BillingProfile {
	p := &BillingProfile{Name: bp.Name, Address: Address{Line1: bp.Line1, Line2: bp.Line2, City: bp.City, PostalCode: bp.PostalCode,
		State: bp.State, Country: bp.Country}}
	if bp.TaxType != "" {
		p.TaxID = &TaxID{Country: bp.TaxCountry, Type: bp.TaxType, Value: bp.TaxValue}
	}
	return p
}

// GetBillingProfile returns the workspace's profile, or nil when it has none.
func (s *Service) GetBillingProfile(ctx context.Context, workspaceID uuid.UUID) (*BillingProfile, error) {
	bp, err := s.ent.BillingProfile.Query().Where(billingprofile.WorkspaceID(workspaceID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read billing profile: %w", err)
	}
	return profileOf(bp), nil
}

// UpdateBillingProfile validates and saves the profile, and copies it to
// the processor's customer when the workspace has one.
func (s *Service) UpdateBillingProfile(ctx context.Context, workspaceID uuid.UUID, p BillingProfile) (BillingProfile, error) {
	p, err := normalizeProfile(p)
	if err != nil {
		return p, err
	}
	ws, err := s.ent.Workspace.Get(ctx, workspaceID)
	if ent.IsNotFound(err) {
		return p, notFound("workspace")
	}
	if err != nil {
		return p, fmt.Errorf("read workspace: %w", err)
	}
	if err := saveProfile(ctx, s.ent, workspaceID, p, s.now()); err != nil {
		return p, err
	}
	if ws.StripeCustomerID != nil {
		if err := s.payments.UpdateCustomer(ctx, *ws.StripeCustomerID, s.customerOf(workspaceID, p)); err != nil {
			return p, s.processorUnavailable(fmt.Errorf("update processor customer: %w", err))
		}
	}
	return p, nil
}

// saveProfile writes the workspace's profile (through client: the pool, or
// a transaction).
func saveProfile(ctx context.Context, client *ent.Client, workspaceID uuid.UUID, p BillingProfile, now time.Time) error {
	var tc, tt, tv string
	if p.TaxID != nil {
		tc, tt, tv = p.TaxID.Country, p.TaxID.Type, p.TaxID.Value
	}
	a := p.Address
	err := client.BillingProfile.Create().SetWorkspaceID(workspaceID).SetName(p.Name).SetLine1(a.Line1).SetLine2(a.Line2).
		SetCity(a.City).SetPostalCode(a.PostalCode).SetState(a.State).SetCountry(a.Country).
		SetTaxCountry(tc).SetTaxType(tt).SetTaxValue(tv).SetUpdatedAt(now).
		OnConflictColumns(billingprofile.FieldWorkspaceID).UpdateNewValues().Exec(ctx)
	if err != nil {
		return fmt.Errorf("save billing profile: %w", err)
	}
	return nil
}

func (s *Service) customerOf(workspaceID uuid.UUID, p BillingProfile) payments.Customer {
	c := payments.Customer{WorkspaceID: workspaceID.String(), Name: p.Name, Address: payments.Address(p.Address)}
	if p.TaxID != nil {
		c.TaxID = &payments.TaxID{Type: p.TaxID.Type, Value: p.TaxID.Value}
	}
	return c
}

// ensureCustomer returns the workspace's processor customer, creating it
// on first use. The creation is keyed by the workspace id, so concurrent
// first purchases create one customer.
func (s *Service) ensureCustomer(ctx context.Context, workspaceID uuid.UUID, p *BillingProfile) (string, error) {
	ws, err := s.ent.Workspace.Get(ctx, workspaceID)
	if ent.IsNotFound(err) {
		return "", notFound("workspace")
	}
	if err != nil {
		return "", fmt.Errorf("read customer: %w", err)
	}
	if ws.StripeCustomerID != nil {
		return *ws.StripeCustomerID, nil
	}
	c := payments.Customer{WorkspaceID: workspaceID.String(), Name: ws.Name}
	if p != nil {
		c = s.customerOf(workspaceID, *p)
	}
	id, err := s.payments.CreateCustomer(ctx, c, "customer-"+workspaceID.String())
	if err != nil {
		return "", fmt.Errorf("create processor customer: %w", err)
	}
	if err := s.ent.Workspace.Update().Where(workspace.ID(workspaceID), workspace.StripeCustomerIDIsNil()).
		SetStripeCustomerID(id).Exec(ctx); err != nil {
		return "", fmt.Errorf("save customer: %w", err)
	}
	ws, err = s.ent.Workspace.Get(ctx, workspaceID)
	if err != nil || ws.StripeCustomerID == nil {
		return "", fmt.Errorf("read customer: %w", err)
	}
	return *ws.StripeCustomerID, nil
}

// buyerSnapshot is the billing details a purchase was made with, kept on
// the purchase: its invoice is made out to them.
func buyerSnapshot(p BillingProfile) map[string]string {
	m := map[string]string{"name": p.Name, "line1": p.Address.Line1, "line2": p.Address.Line2, "city": p.Address.City,
		"postal_code": p.Address.PostalCode, "state": p.Address.State, "country": p.Address.Country}
	if p.TaxID != nil {
		m["tax_country"], m["tax_type"], m["tax_value"] = p.TaxID.Country, p.TaxID.Type, p.TaxID.Value
	}
	return m
}

// buyerProfile reads a buyer snapshot back.
func buyerProfile(m map[string]string) BillingProfile {
	p := BillingProfile{Name: m["name"], Address: Address{Line1: m["line1"], Line2: m["line2"], City: m["city"],
		PostalCode: m["postal_code"], State: m["state"], Country: m["country"]}}
	if m["tax_type"] != "" {
		p.TaxID = &TaxID{Country: m["tax_country"], Type: m["tax_type"], Value: m["tax_value"]}
	}
	return p
}
