package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/airouter/credits/payments"
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

// normalizeProfile validates p and returns it trimmed, with the country
// upper-cased and the tax ID in its canonical form.
func normalizeProfile(p BillingProfile) (BillingProfile, error) {
	trim := strings.TrimSpace
	p.Name = trim(p.Name)
	a := &p.Address
	a.Line1, a.Line2, a.City, a.PostalCode, a.State = trim(a.Line1), trim(a.Line2), trim(a.City), trim(a.PostalCode), trim(a.State)
	a.Country = strings.ToUpper(trim(a.Country))
	for field, v := range map[string]string{"billing.name": p.Name, "billing.address.line1": a.Line1, "billing.address.city": a.City} {
		if v == "" {
			return p, badInput(field, "%s is required", field)
		}
	}
	for field, v := range map[string]string{"billing.name": p.Name, "billing.address.line1": a.Line1, "billing.address.line2": a.Line2,
		"billing.address.city": a.City, "billing.address.postalCode": a.PostalCode, "billing.address.state": a.State} {
		if utf8.RuneCountInString(v) > maxProfileField {
			return p, badInput(field, "%s is longer than %d characters", field, maxProfileField)
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
		p.TaxID = &TaxID{Country: id.Country, Type: id.Type, Value: id.Value}
	}
	return p, nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// GetBillingProfile returns the workspace's profile, or nil when it has none.
func (s *Service) GetBillingProfile(ctx context.Context, workspaceID uuid.UUID) (*BillingProfile, error) {
	var p BillingProfile
	var tc, tt, tv string
	err := s.db.QueryRowContext(ctx, `SELECT name, line1, line2, city, postal_code, state, country, tax_country, tax_type, tax_value
		FROM billing_profiles WHERE workspace_id = $1`, workspaceID).Scan(&p.Name, &p.Address.Line1, &p.Address.Line2,
		&p.Address.City, &p.Address.PostalCode, &p.Address.State, &p.Address.Country, &tc, &tt, &tv)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read billing profile: %w", err)
	}
	if tt != "" {
		p.TaxID = &TaxID{Country: tc, Type: tt, Value: tv}
	}
	return &p, nil
}

// UpdateBillingProfile validates and saves the profile, and copies it to
// the processor's customer when the workspace has one.
func (s *Service) UpdateBillingProfile(ctx context.Context, workspaceID uuid.UUID, p BillingProfile) (BillingProfile, error) {
	p, err := normalizeProfile(p)
	if err != nil {
		return p, err
	}
	if err := s.saveProfile(ctx, workspaceID, p); err != nil {
		return p, err
	}
	var customer sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT stripe_customer_id FROM workspaces WHERE id = $1`, workspaceID).Scan(&customer); err != nil {
		return p, fmt.Errorf("read customer: %w", err)
	}
	if customer.Valid {
		if err := s.payments.UpdateCustomer(ctx, customer.String, s.customerOf(workspaceID, p)); err != nil {
			return p, fmt.Errorf("update processor customer: %w", err)
		}
	}
	return p, nil
}

func (s *Service) saveProfile(ctx context.Context, workspaceID uuid.UUID, p BillingProfile) error {
	var tc, tt, tv string
	if p.TaxID != nil {
		tc, tt, tv = p.TaxID.Country, p.TaxID.Type, p.TaxID.Value
	}
	a := p.Address
	_, err := s.db.ExecContext(ctx, `INSERT INTO billing_profiles (workspace_id, name, line1, line2, city, postal_code, state, country,
		tax_country, tax_type, tax_value, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
		ON CONFLICT (workspace_id) DO UPDATE SET name = EXCLUDED.name, line1 = EXCLUDED.line1, line2 = EXCLUDED.line2,
		city = EXCLUDED.city, postal_code = EXCLUDED.postal_code, state = EXCLUDED.state, country = EXCLUDED.country,
		tax_country = EXCLUDED.tax_country, tax_type = EXCLUDED.tax_type, tax_value = EXCLUDED.tax_value, updated_at = now()`,
		workspaceID, p.Name, a.Line1, a.Line2, a.City, a.PostalCode, a.State, a.Country, tc, tt, tv)
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
	var customer sql.NullString
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT stripe_customer_id, name FROM workspaces WHERE id = $1`, workspaceID).Scan(&customer, &name)
	if err == sql.ErrNoRows {
		return "", notFound("workspace")
	}
	if err != nil {
		return "", fmt.Errorf("read customer: %w", err)
	}
	if customer.Valid {
		return customer.String, nil
	}
	c := payments.Customer{WorkspaceID: workspaceID.String(), Name: name}
	if p != nil {
		c = s.customerOf(workspaceID, *p)
	}
	id, err := s.payments.CreateCustomer(ctx, c, "customer-"+workspaceID.String())
	if err != nil {
		return "", fmt.Errorf("create processor customer: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE workspaces SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL`, workspaceID, id); err != nil {
		return "", fmt.Errorf("save customer: %w", err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT stripe_customer_id FROM workspaces WHERE id = $1`, workspaceID).Scan(&customer)
	if err != nil {
		return "", fmt.Errorf("read customer: %w", err)
	}
	return customer.String, nil
}
