/**
 * The languages of text fields: for each, a Snowball stemmer and a stop word
 * list (`@orama/stemmers`, `@orama/stopwords`; English stop words are the
 * engine's own list, stop-words.ts). `textLanguage(name)` is undefined for
 * any other name (the engine's API refuses those with UnsupportedLanguage).
 */
import { stemmer as arabicStem } from "@orama/stemmers/arabic";
import { stemmer as danishStem } from "@orama/stemmers/danish";
import { stemmer as dutchStem } from "@orama/stemmers/dutch";
import { stemmer as englishStem } from "@orama/stemmers/english";
import { stemmer as finnishStem } from "@orama/stemmers/finnish";
import { stemmer as frenchStem } from "@orama/stemmers/french";
import { stemmer as germanStem } from "@orama/stemmers/german";
import { stemmer as greekStem } from "@orama/stemmers/greek";
import { stemmer as hungarianStem } from "@orama/stemmers/hungarian";
import { stemmer as italianStem } from "@orama/stemmers/italian";
import { stemmer as norwegianStem } from "@orama/stemmers/norwegian";
import { stemmer as portugueseStem } from "@orama/stemmers/portuguese";
import { stemmer as romanianStem } from "@orama/stemmers/romanian";
import { stemmer as russianStem } from "@orama/stemmers/russian";
import { stemmer as spanishStem } from "@orama/stemmers/spanish";
import { stemmer as swedishStem } from "@orama/stemmers/swedish";
import { stemmer as tamilStem } from "@orama/stemmers/tamil";
import { stemmer as turkishStem } from "@orama/stemmers/turkish";
import { stopwords as arabicStop } from "@orama/stopwords/arabic";
import { stopwords as danishStop } from "@orama/stopwords/danish";
import { stopwords as dutchStop } from "@orama/stopwords/dutch";
import { stopwords as finnishStop } from "@orama/stopwords/finnish";
import { stopwords as frenchStop } from "@orama/stopwords/french";
import { stopwords as germanStop } from "@orama/stopwords/german";
import { stopwords as greekStop } from "@orama/stopwords/greek";
import { stopwords as hungarianStop } from "@orama/stopwords/hungarian";
import { stopwords as italianStop } from "@orama/stopwords/italian";
import { stopwords as norwegianStop } from "@orama/stopwords/norwegian";
import { stopwords as portugueseStop } from "@orama/stopwords/portuguese";
import { stopwords as romanianStop } from "@orama/stopwords/romanian";
import { stopwords as russianStop } from "@orama/stopwords/russian";
import { stopwords as spanishStop } from "@orama/stopwords/spanish";
import { stopwords as swedishStop } from "@orama/stopwords/swedish";
import { stopwords as tamilStop } from "@orama/stopwords/tamil";
import { stopwords as turkishStop } from "@orama/stopwords/turkish";
import { ENGLISH_STOP_WORDS } from "./stop-words.ts";

export interface TextLanguage {
  readonly name: string;
  readonly stem: (word: string) => string;
  readonly stopWords: readonly string[];
}

const LANGUAGES: ReadonlyMap<string, TextLanguage> = new Map(
  (
    [
      ["arabic", arabicStem, arabicStop],
      ["danish", danishStem, danishStop],
      ["dutch", dutchStem, dutchStop],
      ["english", englishStem, ENGLISH_STOP_WORDS],
      ["finnish", finnishStem, finnishStop],
      ["french", frenchStem, frenchStop],
      ["german", germanStem, germanStop],
      ["greek", greekStem, greekStop],
      ["hungarian", hungarianStem, hungarianStop],
      ["italian", italianStem, italianStop],
      ["norwegian", norwegianStem, norwegianStop],
      ["portuguese", portugueseStem, portugueseStop],
      ["romanian", romanianStem, romanianStop],
      ["russian", russianStem, russianStop],
      ["spanish", spanishStem, spanishStop],
      ["swedish", swedishStem, swedishStop],
      ["tamil", tamilStem, tamilStop],
      ["turkish", turkishStem, turkishStop],
    ] as const
  ).map(([name, stem, stopWords]) => [name, { name, stem, stopWords }]),
);

/** The supported language names, sorted. */
export const TEXT_LANGUAGES: readonly string[] = Object.freeze([...LANGUAGES.keys()].sort());

/** The language `name`, or undefined when it is not supported. */
export function textLanguage(name: string): TextLanguage | undefined {
  return typeof name === "string" ? LANGUAGES.get(name) : undefined;
}
