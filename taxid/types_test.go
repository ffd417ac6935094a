package taxid

import (
	"errors"
	"strings"
	"testing"
)

// typeCase is what one type in one country must accept and refuse.
type typeCase struct {
	typ, country string
	// exampleFails says why Stripe's example is refused ("" when it
	// passes): Stripe's examples show the shape, not always a real number.
	exampleFails string
	valid        []normal // real numbers (python-stdnum's tests and docs) or computed ones
	invalid      []string // wrong length or characters: a format error
	badCheck     []string // right format, wrong check digit (or embedded date)
}

// normal is a value as typed and its normal form.
type normal struct{ in, want string }

func v(in, want string) normal { return normal{in, want} }

// same is a value already in its normal form.
func same(in string) normal { return normal{in, in} }

// typeCases has one entry per supported type and country; the valid
// numbers come from python-stdnum's tests and module documentation where
// it has a module, otherwise they are made up in Stripe's format.
var typeCases = []typeCase{
	{typ: "ad_nrt", country: "AD", exampleFails: "A numbers are between 700000 and 799999",
		valid:   []normal{v("U-132950-X", "U-132950-X"), v("AD A-710.646-J", "A-710646-J"), v("d059888n", "D-059888-N")},
		invalid: []string{"A-123456", "I-706193-G", "F-712345-Z"}},
	{typ: "ae_trn", country: "AE", valid: []normal{same("100123456700003"), same("123456789012345")},
		invalid: []string{"12345678901234", "12345678901234A"}},
	{typ: "al_tin", country: "AL", valid: []normal{v("AL J 91402501 L", "J91402501L"), same("K22218003V")},
		invalid: []string{"Z22218003V", "J9140250L"}},
	{typ: "am_tin", country: "AM", valid: []normal{same("02538904"), same("12345678")}, invalid: []string{"0253890", "0253890A"}},
	{typ: "ao_tin", country: "AO", valid: []normal{same("5000767115"), same("000238553CA017")},
		invalid: []string{"12345", "000238553C0017"}},
	{typ: "ar_cuit", country: "AR", exampleFails: "check digit",
		valid:    []normal{v("20-05536168-2", "20-05536168-2"), v("20267565393", "20-26756539-3")},
		invalid:  []string{"2026756539", "2026756A393"},
		badCheck: []string{"20267565392"}},
	{typ: "au_abn", country: "AU", exampleFails: "check digits",
		valid:    []normal{v("51 824 753 556", "51824753556"), same("53004085616")},
		invalid:  []string{"5182475355", "5182475355A"},
		badCheck: []string{"51 824 753 557"}},
	{typ: "au_arn", country: "AU", valid: []normal{same("123456789123"), same("987654321098")},
		invalid: []string{"12345678912", "12345678912A"}},
	{typ: "aw_tin", country: "AW", valid: []normal{same("12345678"), same("87654321")}, invalid: []string{"1234567", "1234567A"}},
	{typ: "az_tin", country: "AZ", exampleFails: "ends in 9, not 1 or 2",
		valid:   []normal{same("1400057421"), v("140 155 5071", "1401555071")},
		invalid: []string{"12345", "1400057424"}},
	{typ: "ba_tin", country: "BA", valid: []normal{same("123456789012"), same("420012345678")},
		invalid: []string{"12345678901", "12345678901A"}},
	{typ: "bb_tin", country: "BB", valid: []normal{same("1123456789012"), same("1000000000019")},
		invalid: []string{"112345678901", "112345678901A"}},
	{typ: "bd_bin", country: "BD", valid: []normal{same("123456789-0123"), v("0000000010101", "000000001-0101")},
		invalid: []string{"123456789012", "12345678901A3"}},
	{typ: "bf_ifu", country: "BF", valid: []normal{same("00014729V"), v("0000 59 83 T", "00005983T")},
		invalid: []string{"12345", "000147290"}},
	{typ: "bg_uic", country: "BG", exampleFails: "check digit",
		valid:    []normal{same("175074752"), same("131202360"), same("1312023600013")},
		invalid:  []string{"12345678", "17507475A"},
		badCheck: []string{"175074751"}},
	{typ: "bh_vat", country: "BH", valid: []normal{same("123456789012345"), same("200000000000003")},
		invalid: []string{"12345678901234", "12345678901234A"}},
	{typ: "bj_ifu", country: "BJ", valid: []normal{same("3201910583176"), v("3201 30109 9116", "3201301099116")},
		invalid: []string{"12345", "7201910583176"}},
	{typ: "bo_tin", country: "BO", valid: []normal{same("123456789"), same("100200300")}, invalid: []string{"12345678", "12345678A"}},
	{typ: "br_cnpj", country: "BR", exampleFails: "check digits",
		valid: []normal{same("11.222.333/0001-81"), v("11222333000181", "11.222.333/0001-81"),
			same("12.ABC.345/01DE-35"), v("12abc34501de35", "12.ABC.345/01DE-35")}, // Receita Federal's alphanumeric example
		invalid:  []string{"11.222.333/0001-8", "12.ABC.345/01DE-3A"},
		badCheck: []string{"11.222.333/0001-82", "11.111.111/1111-11"}},
	{typ: "br_cpf", country: "BR", exampleFails: "check digits",
		valid:    []normal{same("111.444.777-35"), v("12345678909", "123.456.789-09")},
		invalid:  []string{"111.444.777", "111.444.777-3A"},
		badCheck: []string{"111.444.777-36", "111.111.111-11"}},
	{typ: "bs_tin", country: "BS", valid: []normal{same("123.456.789"), v("987654321", "987.654.321")},
		invalid: []string{"12345678", "12345678A"}},
	{typ: "by_tin", country: "BY", exampleFails: "check digit",
		valid:   []normal{same("200988541"), v("УНП MA1953684", "MA1953684"), v("МА1953684", "MA1953684"), same("191185589")},
		invalid: []string{"20098854", "ZZ1953684"}, badCheck: []string{"200988542"}},
	{typ: "ca_bn", country: "CA", exampleFails: "check digit",
		valid:    []normal{same("123026635"), v("12302 6635 RC 0001", "123026635RC0001"), same("123456782")},
		invalid:  []string{"12345678Z", "123026635RX0001"},
		badCheck: []string{"123456783"}},
	{typ: "ca_gst_hst", country: "CA", exampleFails: "check digit of the business number",
		valid:    []normal{same("123026635RT0001"), v("123456782 rt 0002", "123456782RT0002")},
		invalid:  []string{"123026635RC0001", "123026635RT001"},
		badCheck: []string{"123026636RT0001"}},
	{typ: "ca_pst_bc", country: "CA", valid: []normal{same("PST-1234-5678"), v("8765 4321", "PST-8765-4321")},
		invalid: []string{"PST-1234-567", "PSX-1234-5678"}},
	{typ: "ca_pst_mb", country: "CA", valid: []normal{same("123456-7"), v("7654321", "765432-1")}, invalid: []string{"123456", "123456-A"}},
	{typ: "ca_pst_sk", country: "CA", valid: []normal{same("1234567"), same("7654321")}, invalid: []string{"123456", "123456A"}},
	{typ: "ca_qst", country: "CA", valid: []normal{same("1234567890TQ1234"), v("1234567890 tq 0001", "1234567890TQ0001")},
		invalid: []string{"1234567890TA1234", "123456789TQ1234"}},
	{typ: "cd_nif", country: "CD", valid: []normal{same("A0123456M"), same("B7654321Z")}, invalid: []string{"A012345M", "10123456M"}},
	{typ: "ch_uid", country: "CH", exampleFails: "check digit",
		valid:    []normal{same("CHE-100.155.212"), v("100.155.212 hr", "CHE-100.155.212 HR"), v("che116311251", "CHE-116.311.251")},
		invalid:  []string{"CHE-100.155.21", "CHE-100.155.212 XX"},
		badCheck: []string{"CHE-100.155.213"}},
	{typ: "ch_vat", country: "CH", exampleFails: "check digit",
		valid: []normal{same("CHE-107.787.577 IVA"), v("che100155212mwst", "CHE-100.155.212 MWST"),
			v("100.155.212 TVA", "CHE-100.155.212 TVA"), v("CHE 100 155 212 TPV", "CHE-100.155.212 TPV")},
		invalid:  []string{"CHE-107.787.577", "CHE-107.787.577 VAT", "CHE-107.787.57 IVA"},
		badCheck: []string{"CHE-107.787.578 IVA"}},
	{typ: "cl_tin", country: "CL", exampleFails: "check digit",
		valid:    []normal{v("76086428-5", "76.086.428-5"), v("CL 12531909-2", "12.531.909-2"), v("12345674", "1.234.567-4")},
		invalid:  []string{"76086A28-5", "123456"},
		badCheck: []string{"12531909-3"}},
	{typ: "cm_niu", country: "CM", valid: []normal{same("M123456789000L"), same("P987654321000A")},
		invalid: []string{"M12345678900L", "1123456789000L"}},
	{typ: "cn_tin", country: "CN",
		valid:    []normal{same("91110000600037341L"), v("91310000ma1fl1234q", "91310000MA1FL1234Q")},
		invalid:  []string{"A1110000600037341L", "9111000060003734"},
		badCheck: []string{"91110000600037341M"}},
	{typ: "co_nit", country: "CO", exampleFails: "check digit",
		valid:    []normal{same("213.123.432-1"), v("2131234351", "213.123.435-1"), v("800197268-4", "800.197.268-4")},
		invalid:  []string{"213123435", "213123435A"},
		badCheck: []string{"2131234350"}},
	{typ: "cr_tin", country: "CR", exampleFails: "a 10-digit cédula jurídica starts with class 2 to 5",
		valid:   []normal{v("3-101-999999", "3101999999"), v("3-0455-0175", "0304550175"), same("155812994816")},
		invalid: []string{"3-534-123559", "12345678"}},
	{typ: "cv_nif", country: "CV", valid: []normal{same("200129775"), v("200 144 731", "200144731"), v("253.656.575", "253656575")},
		invalid: []string{"12345", "923456789"}},
	{typ: "de_stn", country: "DE",
		valid:   []normal{v(" 181/815/0815 5", "18181508155"), v("201/123/12340", "20112312340"), same("4151081508156")},
		invalid: []string{"4151181508156", "136695978"}},
	{typ: "do_rcn", country: "DO", // format only: see the table
		valid:   []normal{same("1-01-85004-3"), v("00113918205", "001-1391820-5")},
		invalid: []string{"1018A0043", "1234567890"}},
	{typ: "ec_ruc", country: "EC", exampleFails: "check digit of the cédula",
		valid: []normal{v("1792060346-001", "1792060346001"), same("0962467429001"), same("0160000510001"),
			same("1790011674001")},
		invalid:  []string{"179206034601", "8810034069001", "17920603A6001"},
		badCheck: []string{"1763154690001", "0160000610001", "0190115799001", "0926687856000"}},
	{typ: "eg_tin", country: "EG", valid: []normal{v("100-531-385", "100531385"), v("٣٣١-١٠٥-٢٦٨", "331105268")},
		invalid: []string{"12345", "VV3456789"}},
	{typ: "es_cif", country: "ES", exampleFails: "check digit",
		valid: []normal{same("B64717838"), v("54362315-K", "54362315K"), v("X-5253868-R", "X5253868R"),
			v("M-1234567-L", "M1234567L"), same("J99216582"), v("ES B-58378431", "B58378431")},
		invalid:  []string{"O-1234567-L", "J992165831"},
		badCheck: []string{"B64717839", "J99216583", "54362315Z"}},
	{typ: "et_tin", country: "ET", valid: []normal{same("1234567890"), same("0987654321")}, invalid: []string{"123456789", "123456789A"}},
	{typ: "fo_vat", country: "FO", valid: []normal{v("623857", "FO623857"), v("FO 602 590", "FO602590")},
		invalid: []string{"1234", "12345X"}},
	{typ: "gb_vat", country: "GB", exampleFails: "check digits",
		valid: []normal{v("GB 980 7806 84", "GB980780684"), v("980780684001", "GB980780684001"), same("GBGD001"),
			same("GBHA599"), v("gb gd8888 123 26", "GBGD888812326")},
		invalid:  []string{"GB12345678", "GBXX123", "GBGD500", "GBHA499"},
		badCheck: []string{"GB802311781", "GBGD888812327"}},
	{typ: "ge_vat", country: "GE", valid: []normal{same("123456789"), same("204567891")}, invalid: []string{"12345678", "12345678A"}},
	{typ: "gi_tin", country: "GI", valid: []normal{same("12345"), same("54321")}, invalid: []string{"1234", "1234A"}},
	{typ: "gn_nif", country: "GN", exampleFails: "check digit",
		valid:    []normal{same("693770885"), v("693-770-885", "693770885"), same("123456782")},
		invalid:  []string{"12345", "69377088A"},
		badCheck: []string{"693770880"}},
	{typ: "hk_br", country: "HK", valid: []normal{same("31130878"), v("1767 4094", "17674094")}, invalid: []string{"12345", "1767409A"}},
	{typ: "hr_oib", country: "HR", exampleFails: "check digit",
		valid:    []normal{v("HR 33392005961", "33392005961"), same("94123456784")},
		invalid:  []string{"3339200596", "3339200596A"},
		badCheck: []string{"33392005962"}},
	{typ: "hu_tin", country: "HU", exampleFails: "check digit of the first 8 digits",
		valid:    []normal{same("12892312-2-41"), v("10672101242", "10672101-2-42")},
		invalid:  []string{"12892312-6-41", "12892312-2-4"},
		badCheck: []string{"12892313-2-41"}},
	{typ: "ic_nif", country: "ES", exampleFails: "check digit",
		valid:    []normal{same("B64240914"), same("X5277343Q")},
		invalid:  []string{"B6424091", "15277343Q1"},
		badCheck: []string{"X5277343R"}},
	{typ: "id_npwp", country: "ID", exampleFails: "check digit",
		valid: []normal{same("01.312.166.0-091.000"), v("016090524017000", "01.609.052.4-017.000"),
			v("0013121660091000", "00.131.216.6-009.1000")},
		invalid:  []string{"123456789", "01312166A091000"},
		badCheck: []string{"013121661091000"}},
	{typ: "il_vat", country: "IL", exampleFails: "check digit",
		valid:    []normal{same("516179157"), same("512345679"), same("000012344")},
		invalid:  []string{"51617915", "51617915A"},
		badCheck: []string{"516179150"}},
	{typ: "in_gst", country: "IN", exampleFails: "D is no PAN holder type",
		valid:    []normal{same("27AAPFU0939F1ZV"), v("29abcpe1234f1z7", "29ABCPE1234F1Z7")},
		invalid:  []string{"369296450896540", "27AAPFU0939F1Z", "38AAPFU0939F1ZV"},
		badCheck: []string{"27AAPFU0939F1ZO", "27AAPFU0000F1ZV"}}, // the PAN serial is never 0000
	{typ: "is_vat", country: "IS", valid: []normal{v("IS 00621", "00621"), same("123456")}, invalid: []string{"0062199", "1234A"}},
	{typ: "it_cf", country: "IT", exampleFails: "check letter",
		valid:    []normal{same("RCCMNL83S18D969H"), same("MRTMTT91D08F205J"), same("00743110157")},
		invalid:  []string{"RCCMNL83S18D969", "RCCMNL83S18D96AH"},
		badCheck: []string{"RCCMNL83S18D969A", "00743110158", "RCCMNL83B31D969E"}}, // the last: right letter, but 31 February
	{typ: "jp_cn", country: "JP", exampleFails: "check digit",
		valid:    []normal{v("5-8356-7825-6246", "5835678256246"), same("7123456789012")},
		invalid:  []string{"583567825624", "583567825624A"},
		badCheck: []string{"2835678256246"}},
	{typ: "jp_rn", country: "JP", valid: []normal{same("12345"), same("54321")}, invalid: []string{"1234", "1234A"}},
	{typ: "jp_trn", country: "JP", exampleFails: "check digit",
		valid:    []normal{same("T5835678256246"), v("7123456789012", "T7123456789012")},
		invalid:  []string{"T583567825624", "X5835678256246"},
		badCheck: []string{"T2835678256246"}},
	{typ: "ke_pin", country: "KE", valid: []normal{same("P051365947M"), v("a004416331m", "A004416331M")},
		invalid: []string{"12345", "V1234567890"}},
	{typ: "kg_tin", country: "KG", valid: []normal{same("12345678901234"), same("21234567890123")},
		invalid: []string{"1234567890123", "1234567890123A"}},
	{typ: "kh_tin", country: "KH", valid: []normal{same("1001-123456789"), v("1001987654321", "1001-987654321")},
		invalid: []string{"1001-12345678", "1001-12345678A"}},
	{typ: "kr_brn", country: "KR", valid: []normal{same("116-82-00276"), v("1348672683", "134-86-72683")},
		invalid: []string{"123456789", "100-82-00276", "116-00-00276", "116-82-00006"}},
	{typ: "kz_bin", country: "KZ", exampleFails: "month 34",
		valid:   []normal{same("940140000385"), v("990 140 004 654", "990140004654")},
		invalid: []string{"949940000385", "12345678901X", "940190000385"}},
	{typ: "la_tin", country: "LA", valid: []normal{same("123456789-000"), v("987654321001", "987654321-001")},
		invalid: []string{"123456789-00", "123456789-00A"}},
	{typ: "li_uid", country: "LI", exampleFails: "check digit",
		valid:    []normal{same("CHE100155212"), v("107.787.577", "CHE107787577")},
		invalid:  []string{"CHE10015521", "CHE10015521A"},
		badCheck: []string{"CHE100155213"}},
	{typ: "li_vat", country: "LI", valid: []normal{same("12345"), same("54321")}, invalid: []string{"1234", "1234A"}},
	{typ: "lk_vat", country: "LK", valid: []normal{same("123456789-1234"), v("9876543217000", "987654321-7000")},
		invalid: []string{"123456789-123", "123456789-123A"}},
	{typ: "ma_vat", country: "MA", valid: []normal{same("12345678"), same("87654321")}, invalid: []string{"1234567", "1234567A"}},
	{typ: "md_vat", country: "MD", valid: []normal{same("1234567"), same("7654321")}, invalid: []string{"123456", "123456A"}},
	{typ: "me_pib", country: "ME", exampleFails: "check digit",
		valid: []normal{same("02655284"), same("02000245")}, invalid: []string{"0265528", "0265528A"}, badCheck: []string{"02655283"}},
	{typ: "mk_vat", country: "MK", exampleFails: "check digit",
		valid:    []normal{same("MK4030000375897"), v("МК 4020990116747", "MK4020990116747"), v("4057009501106", "MK4057009501106")},
		invalid:  []string{"MK403000037589", "MK403000037589A"},
		badCheck: []string{"MK4030000375890"}},
	{typ: "mr_nif", country: "MR", valid: []normal{same("20300059"), v("70 401 906", "70401906")}, invalid: []string{"12345", "7040190A"}},
	{typ: "mx_rfc", country: "MX",
		valid: []normal{same("ABC010203AB9"), same("GODE561231GR8"), v("abc-010203-ab9", "ABC010203AB9"),
			v("ñab000229ab9", "ÑAB000229AB9"), same("A&B010203AB9")}, // 29 February 2000; & in names
		invalid:  []string{"AB010203AB9", "ABC010203AB"},
		badCheck: []string{"ABC011303AB9", "ABC010230AB9"}}, // month 13, 30 February
	{typ: "my_frp", country: "MY", valid: []normal{same("12345678"), same("87654321")}, invalid: []string{"1234567", "1234567A"}},
	{typ: "my_itn", country: "MY",
		valid:   []normal{same("C 1234567890"), v("C2584563202", "C 2584563202"), v("SG 10234567090", "SG 10234567090"), v("og25845632021", "OG 25845632021")},
		invalid: []string{"X 12345", "C 12345678901", "12345"}},
	{typ: "my_sst", country: "MY", valid: []normal{same("A12-3456-78912345"), v("B99123412345678", "B99-1234-12345678")},
		invalid: []string{"A12-3456-7891234", "112-3456-78912345"}},
	{typ: "ng_tin", country: "NG", valid: []normal{same("12345678-0001"), v("234567890002", "23456789-0002")},
		invalid: []string{"12345678-001", "12345678-000A"}},
	{typ: "no_vat", country: "NO", exampleFails: "check digit",
		valid:    []normal{same("988077917MVA"), v("NO 995 525 828 MVA", "995525828MVA"), v("123456785 mva", "123456785MVA")},
		invalid:  []string{"988077917", "98807791MVA"},
		badCheck: []string{"988077918MVA"}},
	{typ: "no_voec", country: "NO", valid: []normal{same("1234567"), same("2043210")}, invalid: []string{"123456", "123456A"}},
	{typ: "np_pan", country: "NP", valid: []normal{same("123456789"), same("601234567")}, invalid: []string{"12345678", "12345678A"}},
	{typ: "nz_gst", country: "NZ", exampleFails: "check digit",
		valid:    []normal{v("4909185-0", "49091850"), v("NZ 49-098-576", "49098576"), same("136410132")},
		invalid:  []string{"9125568", "1234567890"},
		badCheck: []string{"136410133", "49091851"}},
	{typ: "om_vat", country: "OM", exampleFails: "check digit",
		valid:    []normal{same("OM1100006083"), v("om 1100 0012 31", "OM1100001231")},
		invalid:  []string{"OM110000608", "OM11000060AB"},
		badCheck: []string{"OM1100006084"}},
	{typ: "pe_ruc", country: "PE", exampleFails: "starts with 12, not 10, 15, 17 or 20",
		valid:    []normal{same("20512333797"), same("10054148289"), same("20100123453")},
		invalid:  []string{"30512333797", "2051233379"},
		badCheck: []string{"20512333798"}},
	{typ: "ph_tin", country: "PH",
		valid: []normal{v("239-072-842", "239072842"), v("239-072-842-000", "239072842000"), v("239072842000V", "239072842000"),
			v("239072842 VAT", "239072842000"), v("239-072-842 NON-VAT", "239072842000")},
		invalid: []string{"12345", "12345678X", "2390728420"}},
	{typ: "pl_nip", country: "PL", exampleFails: "check digit",
		valid:    []normal{v("PL 8567346215", "8567346215"), v("584-030-44-72", "5840304472")},
		invalid:  []string{"856734621", "856734621A"},
		badCheck: []string{"8567346216"}},
	{typ: "py_ruc", country: "PY", exampleFails: "digits only",
		valid:    []normal{v("80028061-0", "800280610"), v("2660-3", "26603"), same("9991603")},
		invalid:  []string{"80123456789", "8002806A0"},
		badCheck: []string{"800532492"}},
	{typ: "ro_tin", country: "RO", exampleFails: "month 45 in the CNP's date",
		valid:    []normal{v("185 472 90", "18547290"), same("1630615123457"), same("12345674")},
		invalid:  []string{"0800101221142", "12345678901"},
		badCheck: []string{"18547291", "1630615123458", "1632215123457"}}, // the last: month 22
	{typ: "rs_pib", country: "RS", exampleFails: "check digit",
		valid: []normal{same("101134702"), same("100520318")}, invalid: []string{"10113470", "10113470A"}, badCheck: []string{"101134703"}},
	{typ: "ru_inn", country: "RU", exampleFails: "check digit",
		valid:    []normal{same("1234567894"), same("123456789047"), same("7707083893")},
		invalid:  []string{"12345678901", "123456789A"},
		badCheck: []string{"1234567895", "123456789037"}},
	{typ: "ru_kpp", country: "RU", valid: []normal{same("773601001"), same("7736AB001")}, invalid: []string{"77360100", "773601A01"}},
	{typ: "sa_vat", country: "SA", valid: []normal{same("300000000000003"), same("123456789012345")},
		invalid: []string{"30000000000003", "30000000000000A"}},
	{typ: "sg_gst", country: "SG",
		valid:   []normal{same("M12345678X"), v("M2-1234567-K", "M21234567K"), same("197401143C")},
		invalid: []string{"M1234567X", "1234567890"}},
	{typ: "sg_uen", country: "SG",
		valid: []normal{same("00192200M"), same("197401143C"), v("F   56789H", "F00056789H"), same("S16FC0121D"),
			same("T08LL0001A"), same("53012345D")},
		invalid: []string{"123456", "T08ZZ0001A", "123456789"}},
	{typ: "si_tin", country: "SI", exampleFails: "check digit",
		valid: []normal{same("50223054"), v("SI 26808498", "26808498")}, invalid: []string{"05022305", "5022305A"}, badCheck: []string{"50223055"}},
	{typ: "sn_ninea", country: "SN",
		valid:    []normal{v("306 7221", "3067221"), v("3067221 2G2", "30672212G2"), same("1234567")},
		invalid:  []string{"1234567 0AZ", "30672", "3067221 3G2"},
		badCheck: []string{"3067222"}},
	{typ: "sr_fin", country: "SR", valid: []normal{same("1234567890"), same("0987654321")}, invalid: []string{"123456789", "123456789A"}},
	{typ: "sv_nit", country: "SV", exampleFails: "check digit",
		valid:    []normal{same("0614-050707-104-8"), v("SV 06141607871021", "0614-160787-102-1")},
		invalid:  []string{"12345678", "2614-050707-104-8"},
		badCheck: []string{"0614-050707-104-0"}},
	{typ: "th_vat", country: "TH", exampleFails: "check digit",
		valid:    []normal{same("0994000617721"), v("1-2345-45678-78-1", "1234545678781"), same("3100600445635")},
		invalid:  []string{"9234545678781", "123454567878"},
		badCheck: []string{"1234545678789"}},
	{typ: "tj_tin", country: "TJ", valid: []normal{same("123456789"), same("987654321")}, invalid: []string{"12345678", "12345678A"}},
	{typ: "tr_tin", country: "TR",
		valid:    []normal{same("4540536920"), same("1234567890"), same("0123456789")},
		invalid:  []string{"454053692", "454053692A"},
		badCheck: []string{"4540536921"}},
	{typ: "tw_vat", country: "TW", exampleFails: "check digit",
		valid:    []normal{same("00501503"), same("04230193"), same("12345676")}, // the 7th digit 7 allows a sum 9 short
		invalid:  []string{"12345", "0050150A"},
		badCheck: []string{"00501502"}},
	{typ: "tz_vat", country: "TZ", valid: []normal{same("12345678A"), same("40123456Z")}, invalid: []string{"1234567A", "123456789"}},
	{typ: "ua_vat", country: "UA", valid: []normal{same("123456789"), same("987654321")}, invalid: []string{"12345678", "12345678A"}},
	{typ: "ug_tin", country: "UG", valid: []normal{same("1014751879"), same("1000957588")}, invalid: []string{"12345", "100095758A"}},
	{typ: "us_ein", country: "US", valid: []normal{same("12-3456789"), v("123456789", "12-3456789"), v("123-45-6789", "12-3456789")},
		invalid: []string{"1234567", "12-345678A"}},
	{typ: "uy_ruc", country: "UY", exampleFails: "the 3 digits before the check digit are 001",
		valid:    []normal{v("21-100342-001-7", "211003420017"), v("UY 21 140634 001 1", "211406340011")},
		invalid:  []string{"12345678", "231003420017"},
		badCheck: []string{"210303670014"}},
	{typ: "uz_tin", country: "UZ", valid: []normal{same("123456789"), same("987654321")}, invalid: []string{"12345678", "12345678A"}},
	{typ: "uz_vat", country: "UZ", valid: []normal{same("123456789012"), same("987654321098")}, invalid: []string{"12345678901", "12345678901A"}},
	{typ: "ve_rif", country: "VE", exampleFails: "A is no RIF type (V, E, J, P, G)",
		valid:    []normal{same("V-11470283-4"), v("J301140800", "J-30114080-0")},
		invalid:  []string{"A-12345678-9", "V1147028"},
		badCheck: []string{"V-11470283-3"}},
	{typ: "vn_tin", country: "VN", exampleFails: "check digit",
		valid:    []normal{same("0100233488"), v("0314409058-002", "0314409058-002"), same("0100102439")},
		invalid:  []string{"12345", "010023348A"},
		badCheck: []string{"0100233480", "0314409058-000"}},
	{typ: "za_vat", country: "ZA", valid: []normal{same("4123456789"), same("4220123456")}, invalid: []string{"5123456789", "412345678"}},
	{typ: "zm_tin", country: "ZM", valid: []normal{same("1004751879"), same("2000000001")}, invalid: []string{"100475187", "100475187A"}},
	{typ: "zw_tin", country: "ZW", valid: []normal{same("1234567890"), same("0987654321")}, invalid: []string{"123456789", "123456789A"}},

	// eu_vat: two numbers per country from python-stdnum's eu.vat tests.
	{typ: "eu_vat", country: "AT", exampleFails: "check digit", valid: []normal{v("ATU 142 43 102", "ATU14243102"), same("ATU13585627")},
		invalid: []string{"AT12345678", "ATU1234567"}, badCheck: []string{"ATU13585626"}},
	{typ: "eu_vat", country: "BE", exampleFails: "check digits", valid: []normal{v("BE 0202.239.951", "BE0202239951"), v("BE413562567", "BE0413562567")},
		invalid: []string{"BE2123456789", "BE02A2239951"}, badCheck: []string{"BE0202239952"}},
	{typ: "eu_vat", country: "BG", exampleFails: "check digit", valid: []normal{same("BG175074752"), same("BG7523169263")},
		invalid: []string{"BG12345678", "BG10X8735941"}, badCheck: []string{"BG175074751", "BG1037735942"}},
	{typ: "eu_vat", country: "CY", exampleFails: "check letter", valid: []normal{v("CY-10259033P", "CY10259033P"), v("CY00632993 F", "CY00632993F")},
		invalid: []string{"CY12259033P", "CY102590Z3P"}, badCheck: []string{"CY10259033Z"}},
	{typ: "eu_vat", country: "CZ", exampleFails: "date", valid: []normal{same("CZ25123891"), v("CZ 640229/4448", "CZ6402294448"), same("CZ640903926")},
		invalid: []string{"CZ95123891", "CZ1234567"}, badCheck: []string{"CZ25123890", "CZ640913926"}},
	{typ: "eu_vat", country: "DE", exampleFails: "check digit", valid: []normal{v("DE 136,695 976", "DE136695976"), same("DE118619592")},
		invalid: []string{"DE12345678", "DE011125440"}, badCheck: []string{"DE136695978"}},
	{typ: "eu_vat", country: "DK", exampleFails: "check digit", valid: []normal{v("DK 13 58 56 28", "DK13585628"), same("DK28107773")},
		invalid: []string{"DK123456789", "DK02345678"}, badCheck: []string{"DK13585627"}},
	{typ: "eu_vat", country: "EE", exampleFails: "check digit", valid: []normal{v("EE 100 931 558", "EE100931558"), same("EE100594102")},
		invalid: []string{"EE12345678", "EE10093155A"}, badCheck: []string{"EE100594103"}},
	{typ: "eu_vat", country: "ES", exampleFails: "Z is no CIF check character", valid: []normal{v("ES B-58378431", "ESB58378431"), v("ES-x-2482300w", "ESX2482300W")},
		invalid: []string{"ES123456789", "ESA1234567"}, badCheck: []string{"ES54362415K"}},
	{typ: "eu_vat", country: "FI", exampleFails: "check digit", valid: []normal{v("FI 2077474-0", "FI20774740"), same("FI02459042")},
		invalid: []string{"FI123456789", "FI2077474A"}, badCheck: []string{"FI20774741"}},
	{typ: "eu_vat", country: "FR", exampleFails: "check key", valid: []normal{v("Fr 40 303 265 045", "FR40303265045"), v("FR K 7399859412", "FRK7399859412"), same("FR32000000330")},
		invalid: []string{"FR123456789", "FROI123456789"}, badCheck: []string{"FR84323140391", "FRL7399859412"}},
	{typ: "eu_vat", country: "GR", exampleFails: "check digit", valid: []normal{v("EL 094259216 ", "EL094259216"), v("EL 94051189", "EL094051189")},
		invalid: []string{"EL1234567890", "EL12345678A"}, badCheck: []string{"EL123456781"}},
	{typ: "eu_vat", country: "HR", exampleFails: "check digit", valid: []normal{same("HR33392005961"), same("HR94123456784")},
		invalid: []string{"HR1234567890", "HR3339200596A"}, badCheck: []string{"HR33392005962"}},
	{typ: "eu_vat", country: "HU", exampleFails: "check digit", valid: []normal{v("HU-12892312", "HU12892312"), same("HU10672101")},
		invalid: []string{"HU123456789", "HU1289231A"}, badCheck: []string{"HU12892313"}},
	{typ: "eu_vat", country: "IE", exampleFails: "check letter", valid: []normal{same("IE6388047V"), same("IE6433435IH"), same("IE8D79739I")},
		invalid: []string{"IE1234567", "IE1234567X"}, badCheck: []string{"IE6433435E", "IE8D79729I"}},
	{typ: "eu_vat", country: "IT", exampleFails: "province code", valid: []normal{v("IT 00743110157", "IT00743110157"), v("IT: 02331250163", "IT02331250163")},
		invalid: []string{"IT1234567890", "IT0074311015A"}, badCheck: []string{"IT00743110158", "IT00687129980"}},
	{typ: "eu_vat", country: "LT", exampleFails: "the digit before the check digit is 1", valid: []normal{same("LT119511515"), v("LT 100001919017", "LT100001919017")},
		invalid: []string{"LT1234567890", "LT100001354"}, badCheck: []string{"LT100001919018"}},
	{typ: "eu_vat", country: "LU", exampleFails: "check digits", valid: []normal{v("LU 150 274 42", "LU15027442"), same("LU26375245")},
		invalid: []string{"LU123456789", "LU1502744A"}, badCheck: []string{"LU15027443"}},
	{typ: "eu_vat", country: "LV", exampleFails: "check digit", valid: []normal{v("LV 4000 3521 600", "LV40003521600"), v("161175-19997", "LV16117519997")},
		invalid: []string{"LV1234567890", "LV4000352160A"}, badCheck: []string{"LV40003521601", "LV16137519997"}},
	{typ: "eu_vat", country: "MT", exampleFails: "check digits", valid: []normal{v("MT 1167-9112", "MT11679112"), same("MT20630321")},
		invalid: []string{"MT1234567", "MT01234567"}, badCheck: []string{"MT11679113"}},
	{typ: "eu_vat", country: "NL", exampleFails: "check digit", valid: []normal{same("NL004495445B01"), v("NL4495445B01", "NL004495445B01"), v("NL.8143.26.584.B.01", "NL814326584B01")},
		invalid: []string{"NL123456789012", "NL009122746B00"}, badCheck: []string{"NL123456789B90"}},
	{typ: "eu_vat", country: "PL", exampleFails: "check digit", valid: []normal{v("PL 8567346215", "PL8567346215"), v("584-030-44-72", "PL5840304472")},
		invalid: []string{"PL123456789", "PL856734621A"}, badCheck: []string{"PL8567346216", "PL1234567890"}},
	{typ: "eu_vat", country: "PT", valid: []normal{v("PT 501 964 843", "PT501964843"), same("PT502448911")},
		invalid: []string{"PT12345678", "PT012345678"}, badCheck: []string{"PT501964842"}},
	{typ: "eu_vat", country: "RO", exampleFails: "check digit", valid: []normal{v("RO 185 472 90", "RO18547290"), same("RO1630615123457")},
		invalid: []string{"RO1", "RO12345678901"}, badCheck: []string{"RO18547291"}},
	{typ: "eu_vat", country: "SE", exampleFails: "does not end in 01", valid: []normal{same("SE123456789701"), v("SE 556.383.740.901", "SE556383740901")},
		invalid: []string{"SE123456789702", "SE1234567801"}, badCheck: []string{"SE123456789101"}},
	{typ: "eu_vat", country: "SI", exampleFails: "check digit", valid: []normal{v("SI 5022 3054", "SI50223054"), same("SI26808498")},
		invalid: []string{"SI1234567", "SI02680849"}, badCheck: []string{"SI50223055"}},
	{typ: "eu_vat", country: "SK", exampleFails: "check digit", valid: []normal{v("SK 202 274 96 19", "SK2022749619"), same("SK1078449064")},
		invalid: []string{"SK123456789", "SKA078449064"}, badCheck: []string{"SK1078449164", "SK2020457679"}},
	{typ: "eu_vat", country: "GB", exampleFails: "check digits", valid: []normal{v("xi 980 7806 84", "XI980780684"), same("XIGD001")},
		invalid: []string{"XI12345678", "XIGD500"}, badCheck: []string{"XI802311781"}},
}

// ossCases: eu_oss_vat in every country of memberStates, whose numbers
// have no public check digit, only the member state's code.
func ossCases() []typeCase {
	var cases []typeCase
	for _, m := range memberStates {
		other := "826" // the United Kingdom's code, which issues none
		cases = append(cases, typeCase{typ: euOSSType, country: m.country,
			valid:   []normal{same("EU" + m.numeric + "022452"), v(m.numeric+"000001", "EU"+m.numeric+"000001")},
			invalid: []string{"EU" + other + "022452", "EU" + m.numeric + "02245", "IM" + m.numeric + "0224520"}})
	}
	return cases
}

func allTypeCases() []typeCase { return append(append([]typeCase(nil), typeCases...), ossCases()...) }

func TestValidate_EachTypeAcceptsValidNumbersAndRefusesOthers(t *testing.T) {
	for _, tc := range allTypeCases() {
		t.Run(tc.typ+"/"+tc.country, func(t *testing.T) {
			entry := registry[tc.typ][tc.country]
			if entry == nil {
				t.Fatalf("no %s entry for %s", tc.typ, tc.country)
			}
			_, err := Validate(ID{tc.country, tc.typ, entry.example})
			if (err == nil) != (tc.exampleFails == "") {
				t.Errorf("Stripe's example %q: error %v, want one only if the case says why (%q)", entry.example, err, tc.exampleFails)
			}
			for _, n := range tc.valid {
				got, err := Validate(ID{tc.country, tc.typ, n.in})
				if err != nil || got.Value != n.want {
					t.Errorf("Validate(%q) = %q, %v; want %q", n.in, got.Value, err, n.want)
				}
			}
			for _, in := range tc.invalid {
				got, err := Validate(ID{tc.country, tc.typ, in})
				var e *Error
				if !errors.As(err, &e) || e.Field != "value" || strings.Contains(e.Reason, "check digits") {
					t.Errorf("Validate(%q) = %q, %v; want a format error", in, got.Value, err)
				}
			}
			for _, in := range tc.badCheck {
				got, err := Validate(ID{tc.country, tc.typ, in})
				var e *Error
				if !errors.As(err, &e) || e.Field != "value" {
					t.Errorf("Validate(%q) = %q, %v; want a check digit error", in, got.Value, err)
					continue
				}
				if want := []string{"check digits", "date"}; !strings.Contains(e.Reason, want[0]) && !strings.Contains(e.Reason, want[1]) {
					t.Errorf("Validate(%q) reason %q; want it to name the check digits (or date)", in, e.Reason)
				}
			}
		})
	}
}

// TestTypeCases_CoverEveryEntry keeps typeCases honest: every entry of
// the table has a case with two valid numbers and a format error, and one
// with a check digit (or date rule) has a number that fails it.
func TestTypeCases_CoverEveryEntry(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range allTypeCases() {
		key := tc.typ + "/" + tc.country
		if seen[key] {
			t.Errorf("%s has two cases", key)
		}
		seen[key] = true
		entry := registry[tc.typ][tc.country]
		switch {
		case entry == nil:
			t.Errorf("%s: no such entry", key)
		case len(tc.valid) < 2 || len(tc.invalid) < 2:
			t.Errorf("%s: %d valid and %d invalid numbers, want at least 2 of each", key, len(tc.valid), len(tc.invalid))
		case (entry.check != nil || entry.rule != nil) != (len(tc.badCheck) > 0):
			t.Errorf("%s: check %v, rule %v, but %d numbers with a bad check digit", key, entry.check != nil, entry.rule != nil, len(tc.badCheck))
		}
	}
	for typ, countries := range registry {
		for country := range countries {
			if !seen[typ+"/"+country] {
				t.Errorf("%s/%s has no case in typeCases", typ, country)
			}
		}
	}
}
