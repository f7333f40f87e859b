package ident

// confusables maps a character to the lower-case prototype it is mistaken
// for. It is a hand-built subset of the Unicode confusables data (TS #39),
// not the full table: it covers the letters of Cyrillic, Greek, Armenian
// and Latin extensions that pass for basic Latin letters, and the digits
// and the letter pair that pass for Latin letters. Skeleton applies NFKC
// and lower-casing first, which already fold full-width forms, ligatures
// and letter-like symbols (ℓ, ｃ), so the table maps only lower case. Characters with a
// diacritic need no entry: the skeleton decomposes them (NFD), so
// Cyrillic ё becomes е + U+0308 and then e + U+0308, the same as Latin ë.
// Pairs the table does not cover compare different; the mixed-script rule
// still refuses most of them inside one identifier.
var confusables = map[rune]string{
	// Digits, symbols and letter sequences of basic Latin.
	'0': "o",
	'1': "l",
	'|': "l",
	'm': "rn",

	// Latin extensions.
	'ı': "i", // U+0131 dotless i
	'ȷ': "j", // U+0237 dotless j
	'ɑ': "a", // U+0251 alpha
	'ɡ': "g", // U+0261 script g
	'ɩ': "i", // U+0269 iota
	'ɪ': "i", // U+026A small capital i
	'ʏ': "y", // U+028F small capital y
	'ʋ': "u", // U+028B v with hook
	'ɢ': "g", // U+0262 small capital g

	// Cyrillic.
	'а': "a", // U+0430
	'е': "e", // U+0435
	'і': "i", // U+0456
	'ј': "j", // U+0458
	'о': "o", // U+043E
	'р': "p", // U+0440
	'с': "c", // U+0441
	'у': "y", // U+0443
	'х': "x", // U+0445
	'ѕ': "s", // U+0455
	'һ': "h", // U+04BB
	'ӏ': "l", // U+04CF palochka
	'ԁ': "d", // U+0501
	'ԛ': "q", // U+051B
	'ԝ': "w", // U+051D
	'ү': "y", // U+04AF straight u
	'ѵ': "v", // U+0475 izhitsa

	// Greek.
	'α': "a", // U+03B1
	'ι': "i", // U+03B9
	'κ': "k", // U+03BA
	'ν': "v", // U+03BD
	'ο': "o", // U+03BF
	'ρ': "p", // U+03C1
	'υ': "u", // U+03C5
	'γ': "y", // U+03B3
	'χ': "x", // U+03C7
	'ϲ': "c", // U+03F2 lunate sigma
	'ϳ': "j", // U+03F3 yot

	// Armenian.
	'հ': "h", // U+0570
	'ո': "n", // U+0578
	'ս': "u", // U+057D
	'ց': "g", // U+0581
	'օ': "o", // U+0585
}
