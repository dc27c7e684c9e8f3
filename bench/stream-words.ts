/**
 * Non-digit words for the streaming false-event measurements.
 *
 * BENCH_WORDS are bench/stream.ts's held-out measurement: the "none" class of a shipped model must
 * not be trained on them and the stream layer must not be tuned on them. DEV_WORDS are for
 * developing against (bench/stream-errors.ts --words dev, tests): disjoint from BENCH_WORDS and from
 * the training words of scripts/synthesize-speakers.sh, with some that sound close to a digit
 * ("heaven", "fine", "tree") because those are the hard ones.
 */
export const BENCH_WORDS = [
  'hello', 'weather', 'computer', 'yes', 'no', 'stop', 'go', 'left', 'right', 'up', 'down', 'open', 'close', 'music', 'please',
  'thank you', 'good morning', 'banana', 'window', 'kitchen', 'table', 'house', 'river', 'apple', 'dog', 'cat', 'fish', 'bird',
  'green', 'blue', 'yellow', 'orange', 'coffee', 'tomorrow', 'yesterday', 'doctor', 'garden', 'station', 'ticket', 'money',
  'cancel', 'repeat', 'help', 'operator', 'account', 'balance', 'hold on', 'just a moment', 'excuse me', 'what', 'where', 'when',
];

export const DEV_WORDS = [
  'elephant', 'pencil', 'birthday', 'chocolate', 'umbrella', 'guitar', 'weekend', 'sandwich', 'library', 'evening',
  'heaven', 'fine', 'tree', 'hero', 'late', 'door', 'done', 'shoe', 'sticks', 'wine',
  'bottle', 'summer', 'winter', 'city', 'letter', 'number', 'order', 'street', 'travel', 'pizza',
  'see you later', 'good night', 'how are you', 'not now', 'come here', 'make it quick', 'very good', 'all right',
  'jacket', 'rabbit', 'silver', 'candle',
];
