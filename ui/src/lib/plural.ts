/**
 * Counted nouns in English: "1 day", "2 days", "0 days", "1.5 days". A word whose plural is not
 * the word with an "s" names it: plural(n, "entry", "entries"). Every count the UI shows in words
 * goes through here, so no "1 days" slips in.
 */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${noun(n, word, many)}`;
}

/** The noun alone, for sentences that put the number elsewhere ("1 problem needs", "2 problems need"). */
export function noun(n: number, word: string, many = `${word}s`): string {
  return n === 1 || n === -1 ? word : many;
}
