package taxid

import "strings"

// The supported types other than eu_vat and eu_oss_vat (see vat.go), one
// entry each, in the order of Stripe's enum. Labels and examples are
// Stripe's ("Customer tax IDs" page). Where python-stdnum has a module for
// the number, its format rules are the pattern and its check digit, if
// any, the check; otherwise the pattern is the shape of Stripe's example,
// the only public description of what Stripe accepts.
var singleCountryTypes = []taxType{
	{typ: "ad_nrt", country: "AD", label: "Andorran NRT number", example: "A-123456-Z",
		// stdnum.ad.nrt: F only below 700000, A and L only 700000–799999.
		pattern: exact(`[CDEGOPU]\d{6}[A-Z]|F[0-6]\d{5}[A-Z]|[AL]7\d{5}[A-Z]`), layout: layout("#-######-#"),
		expected: "Andorran NRT numbers are a letter (A, C, D, E, F, G, L, O, P or U), 6 digits and a letter, e.g. U-132950-X"},
	{typ: "ae_trn", country: "AE", label: "United Arab Emirates TRN", example: "123456789012345",
		pattern: exact(`\d{15}`), expected: "UAE tax registration numbers are 15 digits, e.g. 123456789012345"},
	{typ: "al_tin", country: "AL", label: "Albania Tax Identification Number", example: "J12345678N",
		pattern: exact(`[JKLM]\d{8}[A-Z]`), expected: "Albanian NIPTs are J, K, L or M, 8 digits and a letter, e.g. J91402501L"},
	{typ: "am_tin", country: "AM", label: "Armenia Tax Identification Number", example: "02538904",
		pattern: exact(`\d{8}`), expected: "Armenian TINs are 8 digits, e.g. 02538904"},
	{typ: "ao_tin", country: "AO", label: "Angola Tax Identification Number", example: "5123456789",
		pattern:  exact(`\d{10}|\d{9}[A-Z]{2}\d{3}`),
		expected: "Angolan NIFs are 10 digits, or for people 9 digits, 2 letters and 3 digits, e.g. 5000767115"},
	{typ: "ar_cuit", country: "AR", label: "Argentinian tax ID number", example: "12-3456789-01",
		pattern: exact(`\d{11}`), layout: layout("##-########-#"), check: validCUIT,
		expected: "Argentinian CUITs are 11 digits, e.g. 20-05536168-2"},
	{typ: "au_abn", country: "AU", label: "Australian Business Number (AU ABN)", example: "12345678912",
		pattern: exact(`\d{11}`), check: validABN,
		expected: "Australian ABNs are 11 digits, e.g. 51 824 753 556"},
	{typ: "au_arn", country: "AU", label: "Australian Taxation Office Reference Number", example: "123456789123",
		pattern: exact(`\d{12}`), expected: "Australian ARNs are 12 digits, e.g. 123456789123"},
	{typ: "aw_tin", country: "AW", label: "Aruba Tax Identification Number", example: "12345678",
		pattern: exact(`\d{8}`), expected: "Aruban TINs are 8 digits, e.g. 12345678"},
	{typ: "az_tin", country: "AZ", label: "Azerbaijan Tax Identification Number", example: "0123456789",
		pattern:  exact(`\d{9}[12]`),
		expected: "Azerbaijani VÖENs are 10 digits ending in 1 (companies) or 2 (people), e.g. 1400057421"},
	{typ: "ba_tin", country: "BA", label: "Bosnia and Herzegovina Tax Identification Number", example: "123456789012",
		pattern: exact(`\d{12}`), expected: "Bosnian TINs are 12 digits, e.g. 123456789012"},
	{typ: "bb_tin", country: "BB", label: "Barbados Tax Identification Number", example: "1123456789012",
		pattern: exact(`\d{13}`), expected: "Barbadian TINs are 13 digits, e.g. 1123456789012"},
	{typ: "bd_bin", country: "BD", label: "Bangladesh Business Identification Number", example: "123456789-0123",
		pattern: exact(`\d{13}`), layout: layout("#########-####"),
		expected: "Bangladeshi BINs are 13 digits, written 123456789-0123"},
	{typ: "bf_ifu", country: "BF", label: "Burkina Faso Tax Identification Number (Numéro d'Identifiant Fiscal Unique)", example: "12345678A",
		pattern: exact(`\d{8}[A-Z]`), expected: "Burkinabé IFUs are 8 digits and a letter, e.g. 00014729V"},
	{typ: "bg_uic", country: "BG", label: "Bulgaria Unified Identification Code", example: "123456789",
		pattern: exact(`\d{9}|\d{13}`), check: validUIC,
		expected: "Bulgarian UICs are 9 digits, or 13 for branches, e.g. 175074752"},
	{typ: "bh_vat", country: "BH", label: "Bahraini VAT Number", example: "123456789012345",
		pattern: exact(`\d{15}`), expected: "Bahraini VAT numbers are 15 digits, e.g. 123456789012345"},
	{typ: "bj_ifu", country: "BJ", label: "Benin Tax Identification Number (Identifiant Fiscal Unique)", example: "1234567890123",
		pattern: exact(`[1-6]\d{12}`), expected: "Beninese IFUs are 13 digits starting with 1 to 6, e.g. 3201910583176"},
	{typ: "bo_tin", country: "BO", label: "Bolivian tax ID", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Bolivian tax IDs are 9 digits, e.g. 123456789"},
	{typ: "br_cnpj", country: "BR", label: "Brazilian CNPJ number", example: "01.234.456/5432-10",
		// Since July 2026 Brazil also issues CNPJs whose first 12
		// characters may be letters; the check digits stay numeric.
		pattern: exact(`[0-9A-Z]{12}\d{2}`), layout: layout("##.###.###/####-##"), check: validCNPJ,
		expected: "Brazilian CNPJs are 14 digits (new ones may have letters in the first 12), e.g. 11.222.333/0001-81"},
	{typ: "br_cpf", country: "BR", label: "Brazilian CPF number", example: "123.456.789-87",
		pattern: exact(`\d{11}`), layout: layout("###.###.###-##"), check: validCPF,
		expected: "Brazilian CPFs are 11 digits, e.g. 111.444.777-35"},
	{typ: "bs_tin", country: "BS", label: "Bahamas Tax Identification Number", example: "123.456.789",
		pattern: exact(`\d{9}`), layout: layout("###.###.###"),
		expected: "Bahamian TINs are 9 digits, written 123.456.789"},
	{typ: "by_tin", country: "BY", label: "Belarus TIN Number", example: "123456789",
		// stdnum.by.unp: organisations are 9 digits; people have 2 letters
		// (which may be typed in Cyrillic) and 7 digits.
		pattern: exact(`[1-7]\d{8}|[ABCEHKM][ABCEHKMOPT]\d{7}`), tidy: belarusUNP, check: validUNP,
		expected: "Belarusian UNPs are 9 digits, or 2 letters and 7 digits, e.g. 200988541"},
	{typ: "ca_bn", country: "CA", label: "Canadian BN", example: "123456789",
		// stdnum.ca.bn: also the 15-character program account (BN15).
		pattern: exact(`\d{9}(?:R[CMPT]\d{4})?`), check: validBN,
		expected: "Canadian business numbers are 9 digits (or 15 with a program account), e.g. 123026635"},
	{typ: "ca_gst_hst", country: "CA", label: "Canadian GST/HST number", example: "123456789RT0002", short: "CA GST/HST",
		pattern: exact(`\d{9}RT\d{4}`), check: validBN,
		expected: "Canadian GST/HST numbers are 9 digits, RT and 4 digits, e.g. 123026635RT0001"},
	{typ: "ca_pst_bc", country: "CA", label: "Canadian PST number (British Columbia)", example: "PST-1234-5678", short: "CA PST (BC)",
		pattern: exact(`PST\d{8}`), prefix: "PST", layout: layout("###-####-####"),
		expected: "British Columbia PST numbers are PST and 8 digits, written PST-1234-5678"},
	{typ: "ca_pst_mb", country: "CA", label: "Canadian PST number (Manitoba)", example: "123456-7", short: "CA PST (MB)",
		pattern: exact(`\d{7}`), layout: layout("######-#"),
		expected: "Manitoba PST numbers are 7 digits, written 123456-7"},
	{typ: "ca_pst_sk", country: "CA", label: "Canadian PST number (Saskatchewan)", example: "1234567", short: "CA PST (SK)",
		pattern: exact(`\d{7}`), expected: "Saskatchewan PST numbers are 7 digits, e.g. 1234567"},
	{typ: "ca_qst", country: "CA", label: "Canadian QST number (Québec)", example: "1234567890TQ1234",
		pattern: exact(`\d{10}TQ\d{4}`), expected: "Quebec QST numbers are 10 digits, TQ and 4 digits, e.g. 1234567890TQ1234"},
	{typ: "cd_nif", country: "CD", label: "Congo (DR) Tax Identification Number (Número de Identificação Fiscal)", example: "A0123456M",
		pattern: exact(`[A-Z]\d{7}[A-Z]`), expected: "Congolese NIFs are a letter, 7 digits and a letter, e.g. A0123456M"},
	{typ: "ch_uid", country: "CH", label: "Switzerland UID number", example: "CHE-123.456.789 HR",
		pattern: exact(`CHE\d{9}(?:HR)?`), prefix: "CHE", check: validUID,
		layout:   layout("###-###.###.###", "###-###.###.### ##"),
		expected: "Swiss UIDs are CHE and 9 digits, followed by HR when in the commercial register, e.g. CHE-100.155.212"},
	{typ: "ch_vat", country: "CH", label: "Switzerland VAT number", example: "CHE-123.456.789 MWST",
		pattern: exact(`CHE\d{9}(?:MWST|TVA|IVA|TPV)`), prefix: "CHE", check: validUID,
		layout:   layout("###-###.###.### ###", "###-###.###.### ####"),
		expected: "Swiss VAT numbers are CHE, 9 digits and MWST, TVA, IVA or TPV, e.g. CHE-107.787.577 IVA"},
	{typ: "cl_tin", country: "CL", label: "Chilean TIN", example: "12.345.678-K",
		pattern: exact(`\d{7,8}[0-9K]`), layout: layout("#.###.###-#", "##.###.###-#"), check: validRUT,
		expected: "Chilean RUTs are 7 or 8 digits and a check digit or K, e.g. 76.086.428-5"},
	{typ: "cm_niu", country: "CM", label: "Cameroon Tax Identification Number (Numéro d'Identifiant fiscal Unique)", example: "M123456789000L",
		pattern: exact(`[A-Z]\d{12}[A-Z]`), expected: "Cameroonian NIUs are a letter, 12 digits and a letter, e.g. M123456789000L"},
	{typ: "cn_tin", country: "CN", label: "Chinese tax ID", example: "123456789012345678",
		pattern: exact(`\d{8}[0-9A-HJ-NPQRTUWXY]{10}`), check: validUSCC,
		expected: "Chinese tax IDs (unified social credit codes) are 18 characters: 8 digits, then digits or letters other than I, O, S, V and Z, e.g. 91110000600037341L"},
	{typ: "co_nit", country: "CO", label: "Colombian NIT number", example: "123.456.789-0",
		pattern: exact(`\d{10}`), layout: layout("###.###.###-#"), check: validNIT,
		expected: "Colombian NITs are 10 digits, e.g. 213.123.432-1"},
	{typ: "cr_tin", country: "CR", label: "Costa Rican tax ID", example: "1-234-567890",
		// stdnum.cr: cédula jurídica (class and type codes), cédula física
		// (0, province, volume and entry; the 0 is often left out) and
		// cédula de residencia (1, then 10 or 11 digits).
		pattern:  exact(`2[1-4]00\d{6}|3(?:00[2-9]|01[0-4]|10[1-9]|110)\d{6}|4000\d{6}|5001\d{6}|0\d{9}|1\d{10,11}`),
		tidy:     padTo(10, 9),
		expected: "Costa Rican tax IDs are a cédula jurídica (10 digits, e.g. 3-101-999999), física (9 digits, e.g. 3-0455-0175) or de residencia (11 or 12 digits starting with 1)"},
	{typ: "cv_nif", country: "CV", label: "Cape Verde Tax Identification Number (Número de Identificação Fiscal)", example: "213456789",
		pattern: exact(`[1-5]\d{8}`), expected: "Cape Verdean NIFs are 9 digits starting with 1 to 5, e.g. 200129775"},
	{typ: "de_stn", country: "DE", label: "German Tax Number (Steuernummer)", example: "1234567890",
		// stdnum.de.stnr: a state's 10- or 11-digit form, or the 13-digit
		// federal form, which starts with the state's tax office prefix.
		pattern:  exact(`\d{10,11}|(?:1[01]|2[1-46-8]|3[0-2]|4[01])\d\d0\d{8}|[59]\d{3}0\d{8}`),
		expected: "German tax numbers (Steuernummer) are 10 or 11 digits, or 13 digits in the federal form, e.g. 181/815/08155"},
	{typ: "do_rcn", country: "DO", label: "Dominican RCN number", example: "123-4567890-1",
		// RNC (9 digits) or cédula (11). Their check digits are not
		// checked: the DGII has issued many numbers that fail them
		// (stdnum keeps lists of such exceptions), so checking would
		// refuse real numbers.
		pattern: exact(`\d{9}|\d{11}`), layout: layout("#-##-#####-#", "###-#######-#"),
		expected: "Dominican tax numbers are an RNC (9 digits, e.g. 1-01-85004-3) or a cédula (11 digits, e.g. 001-1391820-5)"},
	{typ: "ec_ruc", country: "EC", label: "Ecuadorian RUC number", example: "1234567890001",
		pattern: exact(`(?:0[1-9]|1\d|2[0-4]|30|50)\d{11}`), check: validRUC,
		expected: "Ecuadorian RUCs are 13 digits starting with a province code (01 to 24, 30 or 50), e.g. 1792060346001"},
	{typ: "eg_tin", country: "EG", label: "Egyptian Tax Identification Number", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Egyptian tax numbers are 9 digits, e.g. 100531385"},
	{typ: "es_cif", country: "ES", label: "Spanish NIF number (previously Spanish CIF number)", example: "A12345678", short: "ES NIF",
		pattern: exact(spanishNIF), check: validNIF, expected: "Spanish NIFs are " + spanishNIFShape + ", e.g. B64717838"},
	{typ: "et_tin", country: "ET", label: "Ethiopia Tax Identification Number", example: "1234567890",
		pattern: exact(`\d{10}`), expected: "Ethiopian TINs are 10 digits, e.g. 1234567890"},
	{typ: "fo_vat", country: "FO", label: "Faroe Islands VAT number", example: "FO123456",
		pattern: exact(`FO\d{6}`), prefix: "FO", expected: "Faroese VAT numbers are FO and 6 digits, e.g. FO623857"},
	{typ: "gb_vat", country: "GB", label: "United Kingdom VAT number", example: "GB123456789",
		pattern: exact(`GB(?:` + ukVAT + `)`), prefix: "GB", check: validGBVAT,
		expected: "UK VAT numbers are GB followed by 9 or 12 digits, or GBGD or GBHA followed by 3 digits"},
	{typ: "ge_vat", country: "GE", label: "Georgian VAT", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Georgian VAT numbers are 9 digits, e.g. 123456789"},
	{typ: "gi_tin", country: "GI", label: "Gibraltar Tax Identification number", example: "12345",
		pattern: exact(`\d{5}`), expected: "Gibraltar TINs are 5 digits, e.g. 12345"},
	{typ: "gn_nif", country: "GN", label: "Guinea Tax Identification Number (Número de Identificação Fiscal)", example: "123456789",
		pattern: exact(`\d{9}`), check: validLuhn, expected: "Guinean NIFs are 9 digits, e.g. 693770885"},
	{typ: "hk_br", country: "HK", label: "Hong Kong BR number", example: "12345678",
		pattern: exact(`\d{8}`), expected: "Hong Kong business registration numbers are 8 digits, e.g. 12345678"},
	{typ: "hr_oib", country: "HR", label: "Croatian Personal Identification Number", example: "12345678901",
		pattern: exact(`\d{11}`), check: validMod11_10, expected: "Croatian OIBs are 11 digits, e.g. 33392005961"},
	{typ: "hu_tin", country: "HU", label: "Hungary tax number (adószám)", example: "12345678-1-23",
		// The first 8 digits are the taxpayer number, whose check digit is
		// that of the Hungarian VAT number (stdnum.hu.anum); then the VAT
		// code (1 to 5) and the county code.
		pattern: exact(`\d{8}[1-5]\d{2}`), layout: layout("########-#-##"), check: validHUANUM,
		expected: "Hungarian tax numbers are 11 digits, written 12892312-2-41"},
	{typ: "ic_nif", country: "ES", label: "Canary Islands NIF number", example: "A12345678", short: "IC NIF",
		// Stripe: "follows the same format as es_cif".
		pattern: exact(spanishNIF), check: validNIF, expected: "Canary Islands NIFs are " + spanishNIFShape + ", e.g. B64717838"},
	{typ: "id_npwp", country: "ID", label: "Indonesian NPWP number", example: "012.345.678.9-012.345",
		pattern: exact(`\d{15,16}`), check: validNPWP, layout: layout("##.###.###.#-###.###", "##.###.###.#-###.####"),
		expected: "Indonesian NPWPs are 15 or 16 digits, e.g. 01.312.166.0-091.000"},
	{typ: "il_vat", country: "IL", label: "Israel VAT", example: "000012345",
		// stdnum.il.hp (companies) and stdnum.il.idnr (people): 9 digits, Luhn.
		pattern: exact(`\d{9}`), check: validLuhn, expected: "Israeli VAT numbers are 9 digits, e.g. 516179157"},
	{typ: "in_gst", country: "IN", label: "Indian GST number", example: "12ABCDE3456FGZH",
		pattern:  exact(`(?:0[1-9]|[12]\d|3[0-7])[A-Z]{3}[ABCFGHLJPTK][A-Z]\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]`),
		check:    validGSTIN,
		expected: "Indian GSTINs are 15 characters: a state code (01 to 37), a PAN (5 letters, 4 digits, a letter), an entity character, Z and a check character, e.g. 27AAPFU0939F1ZV"},
	{typ: "is_vat", country: "IS", label: "Icelandic VAT", example: "123456",
		pattern: exact(`\d{5,6}`), expected: "Icelandic VAT numbers are 5 or 6 digits, e.g. 123456"},
	{typ: "it_cf", country: "IT", label: "Italian Codice Fiscale number", example: "ABCDEF12A12A123A",
		pattern:  exact(`[A-Z]{6}[0-9L-NP-V]{2}[ABCDEHLMPRST][0-9L-NP-V]{2}[A-Z][0-9L-NP-V]{3}[A-Z]|\d{11}`),
		check:    validCodiceFiscale,
		expected: "Italian codici fiscali are 16 characters for people (e.g. RCCMNL83S18D969H) or 11 digits for companies"},
	{typ: "jp_cn", country: "JP", label: "Japanese Corporate Number (Hōjin Bangō)", example: "1234567891234",
		pattern: exact(`\d{13}`), check: validJPCN, expected: "Japanese corporate numbers are 13 digits, e.g. 5835678256246"},
	{typ: "jp_rn", country: "JP", label: "Japanese Registered Foreign Businesses' Registration Number (Tōroku Kokugai Jigyōsha no Tōroku Bangō)", example: "12345",
		pattern: exact(`\d{5}`), expected: "Japanese registration numbers of foreign businesses are 5 digits, e.g. 12345"},
	{typ: "jp_trn", country: "JP", label: "Japanese Tax Registration Number (Tōroku Bangō)", example: "T1234567891234",
		// T and the corporate number (stdnum.jp.cn).
		pattern: exact(`T\d{13}`), prefix: "T", check: func(v string) bool { return validJPCN(v[1:]) },
		expected: "Japanese tax registration numbers are T and 13 digits, e.g. T5835678256246"},
	{typ: "ke_pin", country: "KE", label: "Kenya Revenue Authority Personal Identification Number", example: "P000111111A",
		pattern: exact(`[AP]\d{9}[A-Z]`), expected: "Kenyan PINs are A or P, 9 digits and a letter, e.g. P051365947M"},
	{typ: "kg_tin", country: "KG", label: "Kyrgyzstan Tax Identification Number", example: "12345678901234",
		pattern: exact(`\d{14}`), expected: "Kyrgyz TINs are 14 digits, e.g. 12345678901234"},
	{typ: "kh_tin", country: "KH", label: "Cambodia Tax Identification Number", example: "1001-123456789",
		pattern: exact(`\d{13}`), layout: layout("####-#########"), expected: "Cambodian TINs are 13 digits, written 1001-123456789"},
	{typ: "kr_brn", country: "KR", label: "Korean BRN", example: "123-45-67890",
		// stdnum.kr.brn: a tax office code from 101, a business type and a
		// serial that are not all zeros, and a last digit.
		pattern:  exact(`(?:10[1-9]|1[1-9]\d|[2-9]\d\d)(?:0[1-9]|[1-9]\d)(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})\d`),
		layout:   layout("###-##-#####"),
		expected: "Korean business registration numbers are 10 digits, written 123-45-67890"},
	{typ: "kz_bin", country: "KZ", label: "Kazakhstani Business Identification Number", example: "123456789012",
		// stdnum.kz.bin: year and month, entity type 4–6, kind 0–3, serial, check.
		pattern:  exact(`\d\d(?:0[1-9]|1[0-2])[4-6][0-3]\d{6}`),
		expected: "Kazakh BINs are 12 digits: year and month of registration, the entity type (4, 5 or 6) and kind (0 to 3), e.g. 940140000385"},
	{typ: "la_tin", country: "LA", label: "Laos Tax Identification Number", example: "123456789-000",
		pattern: exact(`\d{12}`), layout: layout("#########-###"), expected: "Lao TINs are 12 digits, written 123456789-000"},
	{typ: "li_uid", country: "LI", label: "Liechtensteinian UID number", example: "CHE123456789",
		pattern: exact(`CHE\d{9}`), prefix: "CHE", check: validUID,
		expected: "Liechtenstein UIDs are CHE and 9 digits, e.g. CHE100155212"},
	{typ: "li_vat", country: "LI", label: "Liechtensteinian VAT number", example: "12345",
		pattern: exact(`\d{5}`), expected: "Liechtenstein VAT numbers are 5 digits, e.g. 12345"},
	{typ: "lk_vat", country: "LK", label: "Sri Lanka VAT number", example: "123456789-1234",
		pattern: exact(`\d{13}`), layout: layout("#########-####"), expected: "Sri Lankan VAT numbers are 13 digits, written 123456789-1234"},
	{typ: "ma_vat", country: "MA", label: "Morocco VAT Number", example: "12345678",
		pattern: exact(`\d{8}`), expected: "Moroccan VAT numbers are 8 digits, e.g. 12345678"},
	{typ: "md_vat", country: "MD", label: "Moldova VAT Number", example: "1234567",
		pattern: exact(`\d{7}`), expected: "Moldovan VAT numbers are 7 digits, e.g. 1234567"},
	{typ: "me_pib", country: "ME", label: "Montenegro PIB Number", example: "12345678",
		pattern: exact(`\d{8}`), check: validMEPIB, expected: "Montenegrin PIBs are 8 digits, e.g. 02655284"},
	{typ: "mk_vat", country: "MK", label: "North Macedonia VAT Number", example: "MK1234567890123",
		pattern: exact(`MK\d{13}`), prefix: "MK", tidy: macedonianPrefix, check: validEDB,
		expected: "North Macedonian VAT numbers are MK and 13 digits, e.g. MK4030000375897"},
	{typ: "mr_nif", country: "MR", label: "Mauritania Tax Identification Number (Número de Identificação Fiscal)", example: "12345678",
		pattern: exact(`\d{8}`), expected: "Mauritanian NIFs are 8 digits, e.g. 20300059"},
	{typ: "mx_rfc", country: "MX", label: "Mexican RFC number", example: "ABC010203AB9",
		// stdnum.mx.rfc checks the date but, by default, not the check
		// digit, which many issued RFCs fail.
		pattern: mexicanRFC, rule: rfcDateValid,
		expected:   "Mexican RFCs are 3 or 4 letters, a date as YYMMDD and 3 letters or digits, e.g. ABC010203AB9",
		ruleReason: "the 6 digits after an RFC's letters are a date as YYMMDD, e.g. 010203 for 3 February 2001"},
	{typ: "my_frp", country: "MY", label: "Malaysian FRP number", example: "12345678",
		pattern: exact(`\d{8}`), expected: "Malaysian FRP numbers are 8 digits, e.g. 12345678"},
	{typ: "my_itn", country: "MY", label: "Malaysian ITN", example: "C 1234567890",
		// stdnum.my.itn: the file type, then up to 11 digits for people (SG,
		// OG) or 10 for others; written with a space between them.
		pattern: exact(`(?:SG|OG)\d{1,11}|(?:C|CS|D|E|F|FA|PT|TA|TC|TN|TR|TP|TJ|LE)\d{1,10}`), layout: malaysianITN,
		expected: "Malaysian income tax numbers are the file type (e.g. C, SG, OG) and up to 10 or 11 digits, e.g. C 2584563202"},
	{typ: "my_sst", country: "MY", label: "Malaysian SST number", example: "A12-3456-78912345",
		pattern: exact(`[A-Z]\d{14}`), layout: layout("###-####-########"),
		expected: "Malaysian SST numbers are a letter and 14 digits, written A12-3456-78912345"},
	{typ: "ng_tin", country: "NG", label: "Nigerian Tax Identification Number", example: "12345678-0001",
		pattern: exact(`\d{12}`), layout: layout("########-####"), expected: "Nigerian TINs are 12 digits, written 12345678-0001"},
	{typ: "no_vat", country: "NO", label: "Norwegian VAT number", example: "123456789MVA",
		// People often write the EU-style "NO" before it; Stripe's form has none.
		pattern: exact(`\d{9}MVA`), check: validOrgnr,
		expected: "Norwegian VAT numbers are 9 digits followed by MVA, e.g. 988077917MVA"},
	{typ: "no_voec", country: "NO", label: "Norwegian VAT on e-commerce number", example: "1234567",
		pattern: exact(`\d{7}`), expected: "Norwegian VOEC numbers are 7 digits, e.g. 1234567"},
	{typ: "np_pan", country: "NP", label: "Nepal PAN Number", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Nepali PANs are 9 digits, e.g. 123456789"},
	{typ: "nz_gst", country: "NZ", label: "New Zealand GST number", example: "123456789",
		// stdnum.nz.ird: GST numbers are IRD numbers.
		pattern: exact(`\d{8,9}`), check: validIRD,
		expected: "New Zealand GST numbers are 8 or 9 digits, e.g. 49-091-850"},
	{typ: "om_vat", country: "OM", label: "Omani VAT Number", example: "OM1234567890",
		pattern: exact(`OM\d{9}[0-9X]`), prefix: "OM", check: validOMVAT,
		expected: "Omani VAT numbers are OM and 10 digits, e.g. OM1100006083"},
	{typ: "pe_ruc", country: "PE", label: "Peruvian RUC number", example: "12345678901",
		pattern: exact(`(?:10|15|17|20)\d{9}`), check: validPERUC,
		expected: "Peruvian RUCs are 11 digits starting with 10, 15, 17 or 20, e.g. 20512333797"},
	{typ: "ph_tin", country: "PH", label: "Philippines Tax Identification Number", example: "123456789012",
		pattern: exact(`\d{9}|\d{12,13}`), tidy: philippineVATMarker,
		expected: "Philippine TINs are 9 digits, or 12 or 13 with the branch code, e.g. 239-072-842-000"},
	{typ: "pl_nip", country: "PL", label: "Polish NIP number", example: "1234567890",
		pattern: exact(`\d{10}`), check: validPLNIP, expected: "Polish NIPs are 10 digits, e.g. 8567346215"},
	{typ: "py_ruc", country: "PY", label: "Paraguayan RUC number", example: "12345678A",
		pattern: exact(`\d{2,9}`), check: validPYRUC,
		expected: "Paraguayan RUCs are up to 9 digits, the last a check digit, e.g. 80028061-0"},
	{typ: "ro_tin", country: "RO", label: "Romanian tax ID number", example: "1234567890123",
		pattern: exact(romanianCF), check: validROCF,
		expected: "Romanian tax IDs are a CUI (2 to 10 digits, e.g. 18547290) or a CNP (13 digits)"},
	{typ: "rs_pib", country: "RS", label: "Serbian PIB number", example: "123456789",
		pattern: exact(`\d{9}`), check: validMod11_10, expected: "Serbian PIBs are 9 digits, e.g. 101134702"},
	{typ: "ru_inn", country: "RU", label: "Russian INN", example: "1234567891",
		pattern: exact(`\d{10}|\d{12}`), check: validINN,
		expected: "Russian INNs are 10 digits for companies or 12 for people, e.g. 7707083893"},
	{typ: "ru_kpp", country: "RU", label: "Russian KPP", example: "123456789",
		pattern:  exact(`\d{4}[0-9A-Z]{2}\d{3}`),
		expected: "Russian KPPs are 9 characters: 4 digits, 2 digits or letters and 3 digits, e.g. 773601001"},
	{typ: "sa_vat", country: "SA", label: "Saudi Arabia VAT", example: "123456789012345",
		pattern: exact(`\d{15}`), expected: "Saudi VAT numbers are 15 digits, e.g. 300000000000003"},
	{typ: "sg_gst", country: "SG", label: "Singaporean GST", example: "M12345678X",
		// IRAS registers companies for GST under their UEN, others under an M number.
		pattern: exact(`[A-Z]\d{8}[A-Z]|` + singaporeUEN), tidy: singaporeForeignUEN,
		expected: "Singapore GST registration numbers are a letter, 8 digits and a letter (e.g. M12345678X), or the UEN"},
	{typ: "sg_uen", country: "SG", label: "Singaporean UEN", example: "123456789F",
		pattern: exact(singaporeUEN), tidy: singaporeForeignUEN,
		expected: "Singapore UENs are 8 or 9 digits and a letter, or 10 characters starting with F, R, S or T, e.g. 197401143C"},
	{typ: "si_tin", country: "SI", label: "Slovenia tax number (davčna številka)", example: "12345678",
		pattern: exact(`[1-9]\d{7}`), check: validSIDDV, expected: "Slovenian tax numbers are 8 digits, e.g. 50223054"},
	{typ: "sn_ninea", country: "SN", label: "Senegal NINEA Number", example: "12345672A2",
		// stdnum.sn.ninea: 7 or 9 digits and an optional 3-character COFI
		// (tax status 0–2, tax centre letter, legal form digit).
		pattern: exact(`(?:\d{7}|\d{9})(?:[0-2][A-HJ-NP-WZ]\d)?`), check: validNINEA,
		expected: "Senegalese NINEAs are 7 or 9 digits, optionally followed by the 3-character COFI, e.g. 30672212G2"},
	{typ: "sr_fin", country: "SR", label: "Suriname FIN Number", example: "1234567890",
		pattern: exact(`\d{10}`), expected: "Surinamese FINs are 10 digits, e.g. 1234567890"},
	{typ: "sv_nit", country: "SV", label: "El Salvadorian NIT number", example: "1234-567890-123-4",
		pattern: exact(`[019]\d{13}`), layout: layout("####-######-###-#"), check: validSVNIT,
		expected: "Salvadoran NITs are 14 digits starting with 0, 1 or 9, e.g. 0614-050707-104-8"},
	{typ: "th_vat", country: "TH", label: "Thai VAT", example: "1234567891234",
		// stdnum.th.tin: companies start with 0 (moa), people with 1–8 (pin).
		pattern: exact(`[0-8]\d{12}`), check: validThaiTIN, expected: "Thai VAT numbers are 13 digits, e.g. 0994000617721"},
	{typ: "tj_tin", country: "TJ", label: "Tajikistan Tax Identification Number", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Tajik TINs are 9 digits, e.g. 123456789"},
	{typ: "tr_tin", country: "TR", label: "Turkish Tax Identification Number", example: "0123456789",
		pattern: exact(`\d{10}`), check: validVKN, expected: "Turkish tax numbers (VKN) are 10 digits, e.g. 4540536920"},
	{typ: "tw_vat", country: "TW", label: "Taiwanese VAT", example: "12345678",
		pattern: exact(`\d{8}`), check: validUBN, expected: "Taiwanese VAT numbers (UBN) are 8 digits, e.g. 00501503"},
	{typ: "tz_vat", country: "TZ", label: "Tanzania VAT Number", example: "12345678A",
		pattern: exact(`\d{8}[A-Z]`), expected: "Tanzanian VAT numbers are 8 digits and a letter, e.g. 12345678A"},
	{typ: "ua_vat", country: "UA", label: "Ukrainian VAT", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Ukrainian VAT numbers are 9 digits, e.g. 123456789"},
	{typ: "ug_tin", country: "UG", label: "Uganda Tax Identification Number", example: "1014751879",
		pattern: exact(`\d{10}`), expected: "Ugandan TINs are 10 digits, e.g. 1000957588"},
	{typ: "us_ein", country: "US", label: "United States EIN", example: "12-3456789",
		pattern: exact(`\d{9}`), layout: layout("##-#######"), expected: "US EINs are 9 digits, written 12-3456789"},
	{typ: "uy_ruc", country: "UY", label: "Uruguayan RUC number", example: "123456789012",
		// stdnum.uy.rut: a registration office (01–22), a sequence, 001 and a check digit.
		pattern: exact(`(?:0[1-9]|1\d|2[0-2])\d{6}001\d`), check: validUYRUT,
		expected: "Uruguayan RUTs are 12 digits: an office code (01 to 22), 6 digits, 001 and a check digit, e.g. 211003420017"},
	{typ: "uz_tin", country: "UZ", label: "Uzbekistan TIN Number", example: "123456789",
		pattern: exact(`\d{9}`), expected: "Uzbek TINs are 9 digits, e.g. 123456789"},
	{typ: "uz_vat", country: "UZ", label: "Uzbekistan VAT Number", example: "123456789012",
		pattern: exact(`\d{12}`), expected: "Uzbek VAT numbers are 12 digits, e.g. 123456789012"},
	{typ: "ve_rif", country: "VE", label: "Venezuelan RIF number", example: "A-12345678-9",
		pattern: exact(`[VEJPG]\d{9}`), layout: layout("#-########-#"), check: validRIF,
		expected: "Venezuelan RIFs are V, E, J, P or G and 9 digits, e.g. V-11470283-4"},
	{typ: "vn_tin", country: "VN", label: "Vietnamese tax ID number", example: "1234567890",
		pattern: exact(`\d{10}|\d{13}`), layout: layout("##########", "##########-###"), check: validMST,
		expected: "Vietnamese tax numbers are 10 digits, or 13 for branches, e.g. 0100233488"},
	{typ: "za_vat", country: "ZA", label: "South African VAT number", example: "4123456789",
		pattern: exact(`4\d{9}`), expected: "South African VAT numbers are 10 digits starting with 4, e.g. 4123456789"},
	{typ: "zm_tin", country: "ZM", label: "Zambia Tax Identification Number", example: "1004751879",
		pattern: exact(`\d{10}`), expected: "Zambian TINs are 10 digits, e.g. 1004751879"},
	{typ: "zw_tin", country: "ZW", label: "Zimbabwe Tax Identification Number", example: "1234567890",
		pattern: exact(`\d{10}`), expected: "Zimbabwean TINs are 10 digits, e.g. 1234567890"},
}

// ukVAT is the part after GB (gb_vat) or XI (Northern Ireland, eu_vat):
// standard (9 digits), branch traders (12), government departments (GD,
// below 500) and health authorities (HA, from 500), and their newer
// 11-character forms (stdnum.gb.vat).
const ukVAT = `\d{9}|\d{12}|GD[0-4]\d\d|HA[5-9]\d\d|GD8888[0-4]\d{4}|HA8888[5-9]\d{4}`

// mexicanRFC captures the date between the name letters and the homoclave.
var mexicanRFC = exact(`[A-ZÑ&]{3,4}(\d{6})[A-Z0-9]{3}`)

// spanishNIF (stdnum.es.nif): a DNI (8 digits and a letter), a NIE (X, Y or
// Z, 7 digits and a letter), a K, L or M number, or a CIF (organisation
// letter, 7 digits and a check digit or letter A–J).
const spanishNIF = `[0-9XYZKLM]\d{7}[A-Z]|[ABCDEFGHJNPQRSUVW]\d{7}[0-9A-J]`

const spanishNIFShape = "9 characters: 8 digits and a letter, or a letter, 7 digits and a letter or digit"

// romanianCF (stdnum.ro.cf): a CUI of 2 to 10 digits or a 13-digit CNP,
// neither starting with 0.
const romanianCF = `[1-9]\d{1,9}|[1-9]\d{12}`

// singaporeUEN (stdnum.sg.uen): businesses (8 digits), local companies (9
// digits), foreign companies (F000 and 5 digits), and other entities (R, S
// or T for the century, the year, an entity type and 4 digits), each
// ending in a letter.
const singaporeUEN = `\d{8}[A-Z]|\d{9}[A-Z]|F000\d{5}[A-Z]|[RST]\d\d(?:C[CDHLMPSX]|DP|F[BCMN]|G[ABS]|HS|L[LP]|M[BCDHMQ]|NB|NR|P[ABF]|R[FP]|S[MS]|T[CU]|VH|XL)\d{4}[A-Z]`

// belarusUNP drops a typed УНП or UNP and writes Cyrillic look-alike
// letters, which Belarusian numbers are often typed in, as Latin ones.
func belarusUNP(value string) string {
	value = strings.TrimPrefix(strings.TrimPrefix(value, "УНП"), "UNP")
	return strings.Map(func(r rune) rune {
		if latin, ok := cyrillicToLatin[r]; ok {
			return latin
		}
		return r
	}, value)
}

var cyrillicToLatin = map[rune]rune{'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T'}

// macedonianPrefix writes a Cyrillic МК prefix in Latin letters.
func macedonianPrefix(value string) string {
	if rest, ok := strings.CutPrefix(value, "МК"); ok {
		return "MK" + rest
	}
	return value
}

// malaysianITN writes the file type and the digits with a space between.
func malaysianITN(value string) string {
	i := strings.IndexAny(value, "0123456789")
	return value[:i] + " " + value[i:]
}

// philippineVATMarker drops the VAT or non-VAT marker people add after a
// Philippine TIN (stdnum.ph.tin), adding the default branch code 000 to a
// 9-digit number that had one.
func philippineVATMarker(value string) string {
	for _, marker := range []string{"NONVAT", "NVAT", "NV", "VAT", "N", "V"} {
		if rest, ok := strings.CutSuffix(value, marker); ok && isDigits(rest) {
			if len(rest) == 9 {
				rest += "000"
			}
			return rest
		}
	}
	return value
}

// singaporeForeignUEN restores the 000 of a foreign company's UEN, which
// is sometimes written as spaces (stdnum.sg.uen) that compact removed.
func singaporeForeignUEN(value string) string {
	if len(value) == 7 && value[0] == 'F' && isDigits(value[1:6]) {
		return "F000" + value[1:]
	}
	return value
}
