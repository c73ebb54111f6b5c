import { useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, type Ref } from 'react';
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completeFromList,
  completionKeymap,
  type Completion,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { PostgreSQL, sql } from '@codemirror/lang-sql';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  lineNumbers,
  placeholder,
} from '@codemirror/view';
import { tags } from '@lezer/highlight';
import type { TableSchema } from '../../api/types';
import { allColumns, completionSchema, type CompletionItem } from '../../domain/sql-completion';
import './SqlEditor.css';

export interface SqlEditorHandle {
  /** Puts text at the cursor (replacing the selection) and gives the editor focus. */
  insert(text: string): void;
}

export interface SqlEditorProps {
  value: string;
  onChange: (text: string) => void;
  /** Ctrl+Enter / Cmd+Enter. */
  onRun: (text: string) => void;
  tables: TableSchema | undefined;
  ref?: Ref<SqlEditorHandle>;
}

// Colours come from the theme's variables, so the editor follows the light/dark switch without reconfiguring.
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--accent)', fontWeight: '600' },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--ok)' },
  { tag: [tags.number, tags.bool, tags.null], color: 'var(--warn)' },
  { tag: [tags.lineComment, tags.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
  { tag: [tags.typeName, tags.standard(tags.name)], color: 'var(--edge)' },
  { tag: tags.operator, color: 'var(--text)' },
  { tag: tags.special(tags.name), color: 'var(--error)' },
]);

const completionType = (item: CompletionItem): Completion => ({
  label: item.label,
  detail: item.detail,
  type: item.type === 'table' ? 'class' : 'property',
});

/** SQL highlighting plus completion of the node tables, of `table.column`, and of bare column names. */
function languageFor(tables: TableSchema | undefined) {
  const schema = completionSchema(tables ?? {});
  const namespace = Object.fromEntries(
    Object.entries(schema).map(([name, entry]) => [
      name,
      { self: completionType(entry.self), children: entry.children.map(completionType) },
    ]),
  );
  const language = sql({ dialect: PostgreSQL, schema: namespace, upperCaseKeywords: true });
  const columns = language.language.data.of({
    autocomplete: completeFromList(allColumns(tables ?? {}).map(completionType)),
  });
  return [language, columns];
}

/**
 * CodeMirror 6 over one SQL text. The document is the editor's own while the user types (so the cursor never
 * jumps); a different `value` from outside (Back, "Open in editor") replaces it.
 */
export function SqlEditor({ value, onChange, onRun, tables, ref }: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useMemo(() => new Compartment(), []);
  // The latest callbacks, read by the editor's handlers, which are created once.
  const callbacks = useRef({ onChange, onRun });
  useLayoutEffect(() => {
    callbacks.current = { onChange, onRun };
  });

  useEffect(() => {
    const run = (target: EditorView) => {
      callbacks.current.onRun(target.state.doc.toString());
      return true;
    };
    const editor = new EditorView({
      parent: host.current as HTMLDivElement,
      state: EditorState.create({
        doc: value,
        extensions: [
          Prec.highest(keymap.of([{ key: 'Mod-Enter', run }])),
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          bracketMatching(),
          closeBrackets(),
          autocompletion({ icons: true }),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          syntaxHighlighting(highlight),
          language.of(languageFor(undefined)),
          placeholder('SELECT … FROM http_events — Ctrl+Enter runs it'),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'SQL query' }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is created once; `value` changes reach it through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [language]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.reconfigure(languageFor(tables)) });
  }, [tables, language]);

  useEffect(() => {
    const editor = view.current;
    if (!editor || editor.state.doc.toString() === value) return;
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
  }, [value]);

  useImperativeHandle(
    ref,
    () => ({
      insert(text: string) {
        const editor = view.current;
        if (!editor) return;
        editor.dispatch(editor.state.replaceSelection(text));
        editor.focus();
      },
    }),
    [],
  );

  return <div className="sql-editor" ref={host} data-testid="sql-editor" />;
}
