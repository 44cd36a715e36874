// What the SDK asked of the fake host, in order, and what the fakes answer.
export const calls = [];

/** The next answer of a fake, by function (`store.get`): a value, or `{ throws }`. */
export const answers = new Map();

export function record(name, ...args) {
  calls.push([name, ...args]);
  if (!answers.has(name)) return undefined;
  const answer = answers.get(name);
  answers.delete(name);
  if (answer && typeof answer === "object" && "throws" in answer) throw answer.throws;
  return answer;
}

export function reset() {
  calls.length = 0;
  answers.clear();
}
