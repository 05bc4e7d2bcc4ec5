// Progressive enhancement of the infusion form: the CAR-T dose per kg beside the cells, recomputed as the
// user types. Without JavaScript "Calculate the dose" and Save compute it on the server
// (infusions.rules.dose_million_cells_per_kg), and the server's value is the one saved and checked; this
// follows the same rule — the sum of the fractions over the weight, rounded half up to 0.01 ×10⁶/kg — in
// exact integer arithmetic, so the two agree to the last digit. Its words come from the page, in the page's
// language (the output's data-text-* attributes, rendered by infusions/infusion_form.html): no catalogue here.
document.addEventListener("DOMContentLoaded", () => {
  const output = document.getElementById("dose-per-kg");
  if (!output) return;
  const form = output.closest("form");
  const cellInputs = [...form.querySelectorAll("input[name^=fraction_][name$=_cells_million]")];
  const weightInput = form.elements.weight_kg;
  const words = output.dataset;
  const withRange = (message, range) => message.replace("%(range)s", range);

  // "240.5" → {n: 2405n, scale: 1}; null when empty, undefined when not a plain non-negative decimal.
  const decimal = (text) => {
    text = text.trim();
    if (text === "") return null;
    const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
    if (!match || (match[1] + (match[2] || "")) === "") return undefined;
    const fraction = match[2] || "";
    return { n: BigInt((match[1] || "0") + fraction), scale: fraction.length };
  };
  const pow10 = (k) => 10n ** BigInt(k);
  // Hundredths of ×10⁶/kg, from a value in ×10⁶ given as a decimal.
  const hundredths = (value) => value.n * 100n / pow10(value.scale);
  const show = (text, verdict) => {
    output.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = text;
    output.append(strong);
    if (verdict) output.append(` — ${verdict}`);
  };

  const update = () => {
    const weight = decimal(weightInput.value);
    const cells = cellInputs.map((input) => decimal(input.value)).filter((value) => value !== null);
    if (!weight || weight.n === 0n || !cells.length || cells.includes(undefined)
        || cells.some((value) => value.scale > 6)) {
      show("— ×10⁶ cells/kg", words.textPrompt);
      return;
    }
    // Whole cells infused, then hundredths of ×10⁶ cells/kg rounded half up:
    // cells × 100 × 10^scale(w) / (w × 10⁶), w = weight.n.
    const totalCells = cells.reduce((sum, value) => sum + value.n * pow10(6 - value.scale), 0n);
    const numerator = totalCells * 100n * pow10(weight.scale);
    const denominator = weight.n * 1000000n;
    const dose = (2n * numerator + denominator) / (2n * denominator);
    const shown = `${dose / 100n}.${String(dose % 100n).padStart(2, "0")} ×10⁶ cells/kg`;
    const low = hundredths(decimal(words.min)), high = hundredths(decimal(words.max));
    const verdict = dose < low ? words.textBelow : dose > high ? words.textAbove : words.textWithin;
    show(shown, withRange(verdict, words.textRange));
  };
  form.addEventListener("input", update);
  update();
});
