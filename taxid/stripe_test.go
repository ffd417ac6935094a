package taxid_test

import (
	"os"
	"slices"
	"testing"

	"github.com/airouter/credits/stripemock"
	"github.com/airouter/credits/taxid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// TestMain stops the stripe-mock this test binary may have started.
func TestMain(m *testing.M) {
	code := m.Run()
	stripemock.Stop()
	os.Exit(code)
}

// stripeGoV76Types is every value of stripe-go v76's TaxIDType enum but
// unknown, through its constants so that the compiler checks the names.
var stripeGoV76Types = []stripe.TaxIDType{
	stripe.TaxIDTypeADNRT, stripe.TaxIDTypeAETRN, stripe.TaxIDTypeARCUIT, stripe.TaxIDTypeAUABN,
	stripe.TaxIDTypeAUARN, stripe.TaxIDTypeBGUIC, stripe.TaxIDTypeBOTIN, stripe.TaxIDTypeBRCNPJ,
	stripe.TaxIDTypeBRCPF, stripe.TaxIDTypeCABN, stripe.TaxIDTypeCAGSTHST, stripe.TaxIDTypeCAPSTBC,
	stripe.TaxIDTypeCAPSTMB, stripe.TaxIDTypeCAPSTSK, stripe.TaxIDTypeCAQST, stripe.TaxIDTypeCHVAT,
	stripe.TaxIDTypeCLTIN, stripe.TaxIDTypeCNTIN, stripe.TaxIDTypeCONIT, stripe.TaxIDTypeCRTIN,
	stripe.TaxIDTypeDORCN, stripe.TaxIDTypeECRUC, stripe.TaxIDTypeEGTIN, stripe.TaxIDTypeESCIF,
	stripe.TaxIDTypeEUOSSVAT, stripe.TaxIDTypeEUVAT, stripe.TaxIDTypeGBVAT, stripe.TaxIDTypeGEVAT,
	stripe.TaxIDTypeHKBR, stripe.TaxIDTypeHUTIN, stripe.TaxIDTypeIDNPWP, stripe.TaxIDTypeILVAT,
	stripe.TaxIDTypeINGST, stripe.TaxIDTypeISVAT, stripe.TaxIDTypeJPCN, stripe.TaxIDTypeJPRN,
	stripe.TaxIDTypeJPTRN, stripe.TaxIDTypeKEPIN, stripe.TaxIDTypeKRBRN, stripe.TaxIDTypeLIUID,
	stripe.TaxIDTypeMXRFC, stripe.TaxIDTypeMYFRP, stripe.TaxIDTypeMYITN, stripe.TaxIDTypeMYSST,
	stripe.TaxIDTypeNOVAT, stripe.TaxIDTypeNOVOEC, stripe.TaxIDTypeNZGST, stripe.TaxIDTypePERUC,
	stripe.TaxIDTypePHTIN, stripe.TaxIDTypeROTIN, stripe.TaxIDTypeRSPIB, stripe.TaxIDTypeRUINN,
	stripe.TaxIDTypeRUKPP, stripe.TaxIDTypeSAVAT, stripe.TaxIDTypeSGGST, stripe.TaxIDTypeSGUEN,
	stripe.TaxIDTypeSITIN, stripe.TaxIDTypeSVNIT, stripe.TaxIDTypeTHVAT, stripe.TaxIDTypeTRTIN,
	stripe.TaxIDTypeTWVAT, stripe.TaxIDTypeUAVAT, stripe.TaxIDTypeUSEIN, stripe.TaxIDTypeUYRUC,
	stripe.TaxIDTypeVERIF, stripe.TaxIDTypeVNTIN, stripe.TaxIDTypeZAVAT,
}

// laterStripeTypesStripeMockRefuses are on Stripe's list since API version
// 2026-10-28, after the spec stripe-mock v0.203.0 validates against.
var laterStripeTypesStripeMockRefuses = []string{"au_acn", "au_wpn", "cz_dic", "fr_siren", "fr_siret", "fr_spi",
	"is_kt", "md_cf", "mu_vat", "mz_nuit", "nz_bn", "pt_nif", "sm_coe", "tt_bir", "tt_vat"}

func TestTypes_IncludeEveryStripeGoV76Type(t *testing.T) {
	if len(stripeGoV76Types) != 67 {
		t.Fatalf("listed %d stripe-go v76 types, want its 67", len(stripeGoV76Types))
	}
	types := taxid.Types()
	for _, typ := range stripeGoV76Types {
		if !slices.Contains(types, string(typ)) {
			t.Errorf("stripe-go v76 type %s is not supported", typ)
		}
	}
	if slices.Contains(types, string(stripe.TaxIDTypeUnknown)) {
		t.Error("unknown is offered as a type")
	}
}

func mockedStripe(t *testing.T) *client.API {
	noRetries := int64(0)
	return client.New("sk_test_123", stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(stripemock.URL(t)),
		MaxNetworkRetries: &noRetries,
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}))
}

// TestTypes_StripeMockAcceptsEveryType sends each offered type, with its
// example, through stripe-go v76 to stripe-mock, which validates the
// request against its OpenAPI spec: a type it refuses must not be offered.
func TestTypes_StripeMockAcceptsEveryType(t *testing.T) {
	sc := mockedStripe(t)
	sent := map[string]bool{}
	for _, info := range taxid.TypesFor("") {
		if sent[info.Type] {
			continue
		}
		sent[info.Type] = true
		_, err := sc.TaxIDs.New(&stripe.TaxIDParams{
			Customer: stripe.String("cus_taxid"), Type: stripe.String(info.Type), Value: stripe.String(info.Example)})
		if err != nil {
			t.Errorf("stripe-mock refuses %s: %v", info.Type, err)
		}
	}
	if len(sent) != len(taxid.Types()) {
		t.Errorf("sent %d types, want all %d", len(sent), len(taxid.Types()))
	}
}

// TestTypes_OmitTypesStripeMockRefuses: Stripe's newest types are not
// offered, because stripe-mock (and so our tests of the adapter) refuses them.
func TestTypes_OmitTypesStripeMockRefuses(t *testing.T) {
	sc := mockedStripe(t)
	for _, typ := range laterStripeTypesStripeMockRefuses {
		if slices.Contains(taxid.Types(), typ) {
			t.Errorf("%s is offered", typ)
		}
		_, err := sc.TaxIDs.New(&stripe.TaxIDParams{
			Customer: stripe.String("cus_taxid"), Type: stripe.String(typ), Value: stripe.String("123456789")})
		if err == nil {
			t.Errorf("stripe-mock accepts %s: it can be offered now", typ)
		}
	}
}
