// A plain textarea for a pasted manifest, with a line-number gutter and the lines the platform found problems on
// marked in it (a band behind the text and "!" in the gutter, so colour is not the only sign), and below it each
// problem with its position, the source line and a caret under the column; "Go to" puts the cursor there.
import { useMemo, useRef, type UIEvent } from "react";
import { violationText, type Violation } from "./violations.js";
import "./manifest-editor.css";

export interface ManifestEditorProps {
  id: string;
  value: string;
  onChange(value: string): void;
  /** The problems to show at their lines (those without a line are listed only). */
  violations: readonly Violation[];
  /** Ids of the help text describing the field. */
  describedBy?: string;
}

/** The textarea's line height in ems (manifest-editor.css uses the same), to place the bands without measuring. */
const LINE_EM = 1.5;

export function ManifestEditor({ id, value, onChange, violations, describedBy }: ManifestEditorProps) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const bands = useRef<HTMLDivElement>(null);
  const lines = useMemo(() => value.split("\n"), [value]);
  const bad = useMemo(() => new Set(violations.flatMap((v) => (v.line !== undefined ? [v.line] : []))), [violations]);
  const problemsId = `${id}-problems`;

  function onScroll(e: UIEvent<HTMLTextAreaElement>) {
    const shift = `translateY(${-e.currentTarget.scrollTop}px)`;
    if (gutter.current) gutter.current.style.transform = shift;
    if (bands.current) bands.current.style.transform = shift;
  }

  function goTo(v: Violation) {
    const ta = area.current;
    if (!ta || v.line === undefined) return;
    const start = lines.slice(0, v.line - 1).reduce((n, l) => n + l.length + 1, 0);
    const lineLength = lines[v.line - 1]?.length ?? 0;
    ta.focus();
    ta.setSelectionRange(start + Math.min(Math.max(0, (v.column ?? 1) - 1), lineLength), start + lineLength);
    const px = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (v.line - 1) * px - ta.clientHeight / 3);
  }

  return (
    <>
      <div className="editor">
        <div className="editor-gutter" aria-hidden="true">
          <div ref={gutter}>
            {lines.map((_, i) => (
              <div key={i} className={bad.has(i + 1) ? "bad" : undefined} data-line={i + 1} data-error={bad.has(i + 1) ? "true" : undefined}>
                {bad.has(i + 1) ? "! " : ""}
                {i + 1}
              </div>
            ))}
          </div>
        </div>
        <div className="editor-field">
          <div className="editor-bands" aria-hidden="true" ref={bands}>
            {[...bad].map((line) => (
              <div key={line} style={{ top: `${(line - 1) * LINE_EM}em` }} />
            ))}
          </div>
          <textarea
            id={id}
            ref={area}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            onScroll={onScroll}
            wrap="off"
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            rows={12}
            aria-invalid={violations.length > 0 ? true : undefined}
            aria-describedby={[describedBy, violations.length > 0 ? problemsId : undefined].filter(Boolean).join(" ") || undefined}
          />
        </div>
      </div>
      {violations.length > 0 ? (
        <ol id={problemsId} className="problems" aria-label="Problems in the manifest">
          {violations.map((v, i) => (
            <li key={i} data-line={v.line}>
              <p>
                {v.line !== undefined ? (
                  <button type="button" className="link" onClick={() => goTo(v)}>
                    Line {v.line}
                    {v.column !== undefined ? `, column ${v.column}` : ""}
                  </button>
                ) : null}{" "}
                <span className="error">{violationText(v)}</span>
              </p>
              {v.hint ? <p className="help">Hint: {v.hint}</p> : null}
              {v.line !== undefined && lines[v.line - 1] !== undefined ? <SourceLine line={v.line} column={v.column} text={lines[v.line - 1]!} /> : null}
            </li>
          ))}
        </ol>
      ) : null}
    </>
  );
}

/** The offending line with a caret under its column. */
function SourceLine({ line, column, text }: { line: number; column: number | undefined; text: string }) {
  const prefix = `${line} | `;
  return (
    <pre className="source-line">
      {prefix}
      {text}
      {column !== undefined ? `\n${" ".repeat(prefix.length + Math.max(0, column - 1))}^` : ""}
    </pre>
  );
}
