"""copilot.text's public names are deliberate: this pins them (add a name here when you add one)."""

import copilot.text


def test_the_public_names_of_copilot_text_are_pinned() -> None:
    assert sorted(copilot.text.__all__) == sorted([
        "COMMON_CURRENCIES", "FIGURE", "FILLER_WORDS", "LANGUAGES", "NUMBER_WORDS", "DateMatch", "Duration", "Money", "Number",
        "Percent", "Phrase", "PhraseMatch", "PhraseMatcher", "RelativeDay", "Token", "WeekdayMatch", "alternation",
        "amount_role", "ascii_lower", "code_context", "count_word", "currency_symbols", "date_role", "deadline_words",
        "find_dates", "find_durations", "find_free_shipping", "find_introduced_codes", "find_money", "find_numbers", "count_of",
        "find_percents", "find_relative_deadlines", "find_weekdays", "fold", "format_amount", "format_money", "graded_cutoff", "identifier",
        "languages", "lowered", "month_names", "normalize", "numbers_in", "parse_amount", "parse_number", "pattern",
        "percent_role", "quantity", "sentence_bounds", "skeleton", "skeleton_phrase", "spelled_number", "stem", "time_of_day", "tokenize", "weekday",
        "weekday_names", "weekday_pattern", "guess_language", "language_of", "find_ordinals", "similarity", "name_problem", "tidy_name",
    ])
    assert all(hasattr(copilot.text, name) for name in copilot.text.__all__)


def test_guess_language_reads_each_supported_language() -> None:
    from copilot.text import guess_language

    assert guess_language("win back customers who haven't bought in six months") == "en"
    assert guess_language("recuperar a los clientes que no han comprado con un descuento") == "es"
    assert guess_language("Wanderfreunde bekommen bis Ende Februar 10 % auf alle Reisen") == "de"
    assert guess_language("relancer les voyageurs qui ont consulté la page sans réserver") == "fr"
    assert guess_language("SS27") == "en"
    assert guess_language("SS27", default="de") == "de"
