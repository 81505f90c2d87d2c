import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
} from '@tanstack/virtual-core';
import type { CompareColumn, CompareRow, RunTable } from '@cairn/protocol/webviews/compare.js';
import { h } from '../kit/dom.js';
import { formatTime, formatValue } from '../kit/format.js';
import { cellValue, columnIndexOf } from './model.js';

/**
 * The runs table: virtualized in both directions with @tanstack/virtual-core (only the visible rows and columns
 * exist in the DOM), a sticky header and three pinned columns (selection, run, status). Keyboard: arrows, Page
 * Up/Down, Home/End move the active cell; Space selects the run for the charts; Enter opens it; S sorts by the
 * active column.
 *
 * Built for scrolling 10,000 × 50 with no frame over 50 ms (bench/ui; docs/architecture.md has the measurements):
 * the DOM is a pool of row and cell elements that are moved and refilled, never rebuilt. A row is an absolutely
 * positioned box moved with `translateY`; its cells are absolutely positioned at their column's offset, so a
 * cell's text never moves its neighbours. Each cell element is bound to a column while that column stays in the
 * drawn window: scrolling down refills the rows that came into view, scrolling across rebinds the cells of columns
 * that left to the columns that came in, a few at a time (COLUMN_SLACK). Cell text lives in one Text node written
 * through `data`, formatted values are cached per run, and the active cell is moved by toggling one class.
 */

const ROW = 24;
const HEADER = 40;
const PINNED = [
  { key: 'select', width: 30 },
  { key: 'run:id', width: 76 },
  { key: 'run:status', width: 96 },
] as const;
const PINNED_WIDTH = PINNED.reduce((s, p) => s + p.width, 0);
/**
 * Rows rendered beyond the visible ones, so rows scrolled in by the compositor before the next frame are
 * already there. Small on purpose, and none while jumping (a scroll of a screen or more between frames: a dragged
 * scrollbar), when every visible row is new each frame and an overscanned one is work that frame does not show.
 */
const ROW_OVERSCAN = 3;
/**
 * Columns are drawn with this many more on each side, and the drawn window moves only when a visible column falls
 * outside it: scrolling across then changes the DOM once every few columns instead of at every column crossed, and
 * the frames between only scroll.
 */
const COLUMN_SLACK = 3;
/** Values longer than this get a tooltip with the whole text (the cell may cut them with an ellipsis). */
const TITLE_FROM = 12;

export interface GridCallbacks {
  onSort(key: string): void;
  onToggle(runId: number): void;
  onOpen(runId: number): void;
  /** The display positions drawn changed (a windowed view asks for their pages). */
  onRange?(first: number, last: number): void;
}

/** A windowed view's rows by display position: undefined while a row's page has not arrived (a placeholder). */
export interface RowSource {
  count: number;
  at(pos: number): CompareRow | undefined;
}

export interface GridData {
  table: RunTable;
  /** Row indexes into table.rows, in display order. */
  order: number[];
  /** Scrollable columns in display order (fixed ones such as pipeline included). */
  columns: CompareColumn[];
  selected: ReadonlySet<number>;
  sort: { key: string; dir: 'asc' | 'desc' } | undefined;
  /** Rows by position instead of table.rows in `order` (then `order` is unused and table.rows may be empty). */
  source?: RowSource;
}

function rowCount(data: GridData): number {
  return data.source ? data.source.count : data.order.length;
}

function rowAt(data: GridData, pos: number): CompareRow | undefined {
  return data.source ? data.source.at(pos) : data.table.rows[data.order[pos] ?? -1];
}

function columnWidth(c: CompareColumn): number {
  if (c.key === 'run:startedAt') return 140;
  if (c.key === 'run:pipeline') return 120;
  return Math.min(180, Math.max(84, c.name.length * 7 + 24));
}

/** A cell element and what it shows; the strings are kept so nothing is read back from the DOM. */
interface Cell {
  el: HTMLDivElement;
  text: Text;
  /** Data column (index into GridData.columns) the cell is bound to; -1 when free. */
  col: number;
  value: string;
  cls: string;
  title: string;
  left: number;
  width: number;
}

/** A row element, its three pinned cells and its pool of column cells. */
interface Slot {
  el: HTMLDivElement;
  pinned: [Cell, Cell, Cell];
  /** Bound cells by data column. */
  cells: Map<number, Cell>;
  /** Cells not bound to a column, detached. */
  spare: Cell[];
  /** What the slot shows: display position, the grid's data version, the window of columns; -1 when nothing yet. */
  pos: number;
  version: number;
  first: number;
  last: number;
  y: number;
  width: number;
}

/** Where a display column's value comes from: an index into row.values, or a fixed column. */
const FROM_PIPELINE = -1;
const FROM_STARTED = -2;
const FROM_OTHER = -3;
/** Slot.version of a placeholder row (versions count up from 0). */
const PLACEHOLDER = -2;

export class RunGrid {
  readonly element: HTMLDivElement;
  private readonly sizer: HTMLDivElement;
  private readonly header: HTMLDivElement;
  private readonly body: HTMLDivElement;
  private data: GridData | undefined;
  private columnIndex = new Map<string, number>();
  private widths: number[] = [];
  /** Per display column: index into row.values, or FROM_* for fixed columns. */
  private sources: number[] = [];
  private readonly rows: Virtualizer<HTMLDivElement, HTMLDivElement>;
  private readonly cols: Virtualizer<HTMLDivElement, HTMLDivElement>;
  private active = { row: 0, col: 1 };
  private activeEl: HTMLDivElement | undefined;
  /** Slots showing a display position. */
  private readonly slots = new Map<number, Slot>();
  /** Slots not showing anything, detached. */
  private readonly spareSlots: Slot[] = [];
  /**
   * Formatted values per run, by row object: rows are immutable (a patch or a new column makes new row objects), so
   * the cache never goes stale, and it outlives setData (sort, filter, selection keep the same rows).
   */
  private readonly texts = new WeakMap<CompareRow, Array<string | undefined>>();
  private version = 0;
  private headerKey = '';
  private frame = 0;
  /** Scroll offset of the last render, to tell a jump from a scroll. */
  private lastTop = 0;
  /** Drawn columns (first, last), kept while they cover the visible ones; reset with the data. */
  private colWindow: [number, number] | undefined;

  constructor(private readonly callbacks: GridCallbacks) {
    this.header = h('div', { className: 'grid-header', role: 'row', 'aria-rowindex': 1 });
    this.body = h('div', { className: 'grid-body', role: 'rowgroup' });
    this.sizer = h('div', { className: 'grid-sizer' }, this.header, this.body);
    this.element = h(
      'div',
      { className: 'grid', role: 'grid', tabindex: 0, 'aria-label': 'Runs', 'aria-multiselectable': 'true' },
      this.sizer,
    );
    const common = {
      getScrollElement: () => this.element,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      onChange: () => this.schedule(),
    };
    this.rows = new Virtualizer<HTMLDivElement, HTMLDivElement>({
      ...common,
      count: 0,
      estimateSize: () => ROW,
      overscan: ROW_OVERSCAN,
      paddingStart: HEADER,
      scrollPaddingStart: HEADER,
    });
    this.cols = new Virtualizer<HTMLDivElement, HTMLDivElement>({
      ...common,
      count: 0,
      horizontal: true,
      estimateSize: (i) => this.widths[i] ?? 100,
      overscan: 0,
      rangeExtractor: (range) => this.columnWindow(range.startIndex, range.endIndex, range.count),
      paddingStart: PINNED_WIDTH,
      scrollPaddingStart: PINNED_WIDTH,
    });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    this.element.addEventListener('click', (e) => this.onClick(e));
  }

  /** Call once the element is in the document. */
  mount(): void {
    this.rows._didMount();
    this.cols._didMount();
    this.rows._willUpdate();
    this.cols._willUpdate();
  }

  setData(data: GridData): void {
    this.data = data;
    this.version++;
    this.columnIndex = columnIndexOf(data.table);
    this.widths = data.columns.map(columnWidth);
    this.colWindow = undefined;
    this.sources = data.columns.map(
      (c) =>
        this.columnIndex.get(c.key) ??
        (c.key === 'run:pipeline' ? FROM_PIPELINE : c.key === 'run:startedAt' ? FROM_STARTED : FROM_OTHER),
    );
    const count = rowCount(data);
    this.rows.setOptions({ ...this.rows.options, count });
    this.cols.setOptions({ ...this.cols.options, count: data.columns.length });
    this.cols.measure();
    this.active.row = Math.min(this.active.row, Math.max(0, count - 1));
    this.active.col = Math.min(this.active.col, PINNED.length + data.columns.length - 1);
    this.element.setAttribute('aria-rowcount', String(count + 1));
    this.element.setAttribute('aria-colcount', String(PINNED.length + data.columns.length));
    this.rows._willUpdate();
    this.cols._willUpdate();
    this.render();
  }

  /** Redraws the visible rows (rows of a windowed view arrived; the data is otherwise the same). */
  refresh(): void {
    if (!this.data) return;
    this.version++;
    this.render();
  }

  /** The display positions drawn, first..last (last < first: none). */
  get range(): [number, number] {
    const items = this.rows.getVirtualItems();
    return [items[0]?.index ?? 0, items.at(-1)?.index ?? -1];
  }

  get scrollTop(): number {
    return this.element.scrollTop;
  }

  /** The drawn columns for visible columns start..end (see COLUMN_SLACK). */
  private columnWindow(start: number, end: number, count: number): number[] {
    let w = this.colWindow;
    if (!w || start < w[0] || end > w[1] || w[1] >= count) {
      w = [Math.max(0, start - COLUMN_SLACK), Math.min(count - 1, end + COLUMN_SLACK)];
      this.colWindow = w;
    }
    const out: number[] = [];
    for (let i = w[0]; i <= w[1]; i++) out.push(i);
    return out;
  }

  /** Renders at most once per animation frame, however many scroll events arrive. */
  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Draws the visible window synchronously (also used for the first paint). */
  render(): void {
    const data = this.data;
    if (!data) return;
    const totalW = this.cols.getTotalSize();
    this.sizer.style.width = `${totalW}px`;
    this.sizer.style.height = `${this.rows.getTotalSize()}px`;
    const vcols = this.cols.getVirtualItems();
    const first = vcols[0]?.index ?? 0;
    const last = vcols[vcols.length - 1]?.index ?? -1;
    const headerKey = `${this.version}:${first}-${last}`;
    if (headerKey !== this.headerKey) {
      this.headerKey = headerKey;
      this.renderHeader(data, vcols, totalW);
    }
    const top = this.rows.scrollOffset ?? 0;
    const overscan = Math.abs(top - this.lastTop) >= (this.rows.scrollRect?.height ?? Infinity) ? 0 : ROW_OVERSCAN;
    this.lastTop = top;
    if (this.rows.options.overscan !== overscan) this.rows.setOptions({ ...this.rows.options, overscan });
    const items = this.rows.getVirtualItems();
    const visible = new Set<number>();
    for (const vr of items) visible.add(vr.index);
    for (const [pos, slot] of this.slots) {
      if (!visible.has(pos)) {
        this.slots.delete(pos);
        this.spareSlots.push(slot);
      }
    }
    // Spare slots are refilled for the rows that came into view; only what is left over leaves the DOM.
    for (const vr of items) {
      let slot = this.slots.get(vr.index);
      if (!slot) {
        slot = this.spareSlots.pop() ?? this.newSlot();
        this.slots.set(vr.index, slot);
        if (!slot.el.isConnected) this.body.append(slot.el);
      }
      this.fillSlot(slot, data, vr.index, vr.start, vcols, first, last, totalW);
    }
    for (const slot of this.spareSlots) {
      if (slot.el.isConnected) slot.el.remove();
      slot.pos = -1;
    }
    this.markActive();
    this.callbacks.onRange?.(items[0]?.index ?? 0, items.at(-1)?.index ?? -1);
  }

  private newCell(): Cell {
    const el = document.createElement('div');
    el.setAttribute('role', 'gridcell');
    const text = document.createTextNode('');
    el.append(text);
    return { el, text, col: -1, value: '', cls: '', title: '', left: -1, width: -1 };
  }

  private newSlot(): Slot {
    const el = document.createElement('div');
    el.setAttribute('role', 'row');
    const pinnedEl = h('div', { className: 'pinned' });
    pinnedEl.style.width = `${PINNED_WIDTH}px`;
    const pinned: [Cell, Cell, Cell] = [this.newCell(), this.newCell(), this.newCell()];
    pinned.forEach((c, i) => {
      c.el.setAttribute('aria-colindex', String(i + 1));
      c.el.style.width = `${PINNED[i]?.width ?? 0}px`;
      c.col = i;
      pinnedEl.append(c.el);
    });
    el.append(pinnedEl);
    return { el, pinned, cells: new Map(), spare: [], pos: -1, version: -1, first: 0, last: -1, y: -1, width: -1 };
  }

  /** The formatted value of display column `c` for a row, formatted once per row object. */
  private textOf(row: CompareRow, c: number, column: CompareColumn): string {
    const source = this.sources[c] ?? FROM_OTHER;
    if (source === FROM_PIPELINE) return row.pipeline;
    if (source === FROM_OTHER) return formatValue(cellValue(this.columnIndex, row, column.key));
    let texts = this.texts.get(row);
    if (!texts) {
      texts = [];
      this.texts.set(row, texts);
    }
    // Started-at is cached after the row's values.
    const at = source === FROM_STARTED ? row.values.length : source;
    let text = texts[at];
    if (text === undefined) {
      text = source === FROM_STARTED ? formatTime(row.startedAt) : formatValue(row.values[source] ?? null);
      texts[at] = text;
    }
    return text;
  }

  private classOf(row: CompareRow, c: number, column: CompareColumn): string {
    const source = this.sources[c] ?? FROM_OTHER;
    const v =
      source >= 0
        ? (row.values[source] ?? null)
        : source === FROM_PIPELINE
          ? row.pipeline
          : source === FROM_STARTED
            ? row.startedAt
            : cellValue(this.columnIndex, row, column.key);
    return typeof v === 'number' ? 'cell num' : v === null ? 'cell missing' : 'cell';
  }

  /** Writes a cell's text and class, touching the DOM only where they changed. */
  private writeCell(cell: Cell, value: string, cls: string): void {
    if (cell.value !== value) {
      cell.value = value;
      cell.text.data = value;
      const title = value.length > TITLE_FROM ? value : '';
      if (title !== cell.title) {
        cell.title = title;
        if (title) cell.el.title = title;
        else cell.el.removeAttribute('title');
      }
    }
    if (cell.cls !== cls) {
      cell.cls = cls;
      cell.el.className = cell.el === this.activeEl ? `${cls} active` : cls;
    }
  }

  private fillSlot(
    slot: Slot,
    data: GridData,
    pos: number,
    y: number,
    vcols: VirtualItem[],
    first: number,
    last: number,
    totalW: number,
  ): void {
    const row = rowAt(data, pos);
    const fresh = slot.pos !== pos || slot.version !== this.version;
    if (slot.y !== y) {
      slot.y = y;
      slot.el.style.transform = `translateY(${y}px)`;
    }
    if (slot.width !== totalW) {
      slot.width = totalW;
      slot.el.style.width = `${totalW}px`;
    }
    if (!row) {
      if (slot.pos !== pos || slot.version !== PLACEHOLDER) this.placeholder(slot, pos);
      return;
    }
    if (fresh) {
      const selected = data.selected.has(row.id);
      const [check, id, status] = slot.pinned;
      slot.el.className = pos % 2 === 1 ? 'grid-row odd' : 'grid-row';
      slot.el.removeAttribute('aria-busy');
      slot.el.setAttribute('aria-rowindex', String(pos + 2));
      if (selected) slot.el.setAttribute('aria-selected', 'true');
      else slot.el.removeAttribute('aria-selected');
      slot.el.dataset.run = String(row.id);
      slot.el.dataset.pos = String(pos);
      this.writeCell(check, selected ? '☑' : '☐', 'cell check');
      check.el.setAttribute('aria-label', selected ? `Unselect run ${row.id}` : `Select run ${row.id}`);
      this.writeCell(id, `#${row.id}`, 'cell num');
      this.writeCell(status, row.status, `cell status status-${row.status}`);
    }
    if (!fresh && slot.first === first && slot.last === last) return;
    const overlap = slot.version === this.version && slot.first <= last && slot.last >= first;
    if (overlap) {
      // Cells of columns that left the window are freed; the kept ones stay bound and in place.
      for (const [c, cell] of slot.cells) {
        if (c < first || c > last) {
          slot.cells.delete(c);
          cell.col = -1;
          cell.el.remove();
          slot.spare.push(cell);
        }
      }
    } else {
      // New data or a jump across: every cell is rebound where it stands, in column order; extras leave the DOM.
      const old = [...slot.cells.values()].sort((a, b) => a.col - b.col);
      slot.cells.clear();
      old.forEach((cell, i) => {
        const vc = vcols[i];
        if (vc) {
          cell.col = vc.index;
          slot.cells.set(vc.index, cell);
          cell.el.setAttribute('aria-colindex', String(PINNED.length + vc.index + 1));
        } else {
          cell.col = -1;
          cell.el.remove();
          slot.spare.push(cell);
        }
      });
    }
    // The cells stay in column order in the DOM (screen readers read it). The kept columns are contiguous, so the
    // columns that came in on the left go before the first kept cell, and those on the right after the last.
    let firstKept = last + 1;
    for (let c = first; c <= last && overlap; c++) {
      if (slot.cells.has(c)) {
        firstKept = c;
        break;
      }
    }
    const firstKeptEl = slot.cells.get(firstKept)?.el ?? null;
    for (const vc of vcols) {
      const column = data.columns[vc.index];
      if (!column) continue;
      let cell = slot.cells.get(vc.index);
      const bound = cell !== undefined;
      if (!cell) {
        cell = slot.spare.pop() ?? this.newCell();
        cell.col = vc.index;
        slot.cells.set(vc.index, cell);
        cell.el.setAttribute('aria-colindex', String(PINNED.length + vc.index + 1));
      }
      if (cell.left !== vc.start) {
        cell.left = vc.start;
        cell.el.style.left = `${vc.start}px`;
      }
      if (cell.width !== vc.size) {
        cell.width = vc.size;
        cell.el.style.width = `${vc.size}px`;
      }
      if (!bound || fresh || !overlap)
        this.writeCell(cell, this.textOf(row, vc.index, column), this.classOf(row, vc.index, column));
      if (!bound) slot.el.insertBefore(cell.el, vc.index < firstKept ? firstKeptEl : null);
    }
    slot.pos = pos;
    slot.version = this.version;
    slot.first = first;
    slot.last = last;
  }

  /** A row whose page has not arrived: its position, an ellipsis, no cells (they go back to the slot's spares). */
  private placeholder(slot: Slot, pos: number): void {
    slot.el.className = 'grid-row placeholder';
    slot.el.setAttribute('aria-rowindex', String(pos + 2));
    slot.el.setAttribute('aria-busy', 'true');
    slot.el.removeAttribute('aria-selected');
    delete slot.el.dataset.run;
    slot.el.dataset.pos = String(pos);
    const [check, id, status] = slot.pinned;
    this.writeCell(check, '', 'cell check');
    this.writeCell(id, '…', 'cell num');
    this.writeCell(status, '', 'cell status');
    for (const cell of slot.cells.values()) {
      cell.col = -1;
      cell.el.remove();
      slot.spare.push(cell);
    }
    slot.cells.clear();
    slot.pos = pos;
    slot.version = PLACEHOLDER;
    slot.first = 0;
    slot.last = -1;
  }

  /** Moves the active-cell marker (class, and the id aria-activedescendant names) to the active cell if drawn. */
  private markActive(): void {
    const slot = this.slots.get(this.active.row);
    const c = this.active.col;
    const cell = slot ? (c < PINNED.length ? slot.pinned[c] : slot.cells.get(c - PINNED.length)) : undefined;
    const el = cell?.el;
    const id = `cell-${this.active.row}-${c}`;
    if (el === this.activeEl && (!el || el.id === id)) return;
    if (this.activeEl) {
      this.activeEl.classList.remove('active');
      this.activeEl.removeAttribute('id');
    }
    this.activeEl = el;
    if (el) {
      el.classList.add('active');
      el.id = id;
    }
  }

  private renderHeader(data: GridData, vcols: VirtualItem[], totalW: number): void {
    const sortMark = (k: string): string => (data.sort?.key === k ? (data.sort.dir === 'asc' ? ' ▲' : ' ▼') : '');
    const ariaSort = (k: string): string | undefined =>
      data.sort?.key === k ? (data.sort.dir === 'asc' ? 'ascending' : 'descending') : undefined;
    const head = (key: string, group: string, name: string, width: number, colIndex: number): HTMLElement => {
      const cell = h(
        'div',
        { className: 'hcell', role: 'columnheader', 'aria-colindex': colIndex + 1, 'aria-sort': ariaSort(key) },
        h('span', { className: 'group' }, group),
        h('button', { tabindex: -1, 'data-sort': key, title: `Sort by ${name}` }, name + sortMark(key)),
      );
      cell.style.width = `${width}px`;
      return cell;
    };
    const pinned = h('div', { className: 'pinned' });
    pinned.style.width = `${PINNED_WIDTH}px`;
    const sel = h(
      'div',
      { className: 'hcell', role: 'columnheader', 'aria-colindex': 1, title: 'Selected runs are charted' },
      h('span', { className: 'group' }, ''),
      h('span', {}, '✓'),
    );
    sel.style.width = `${PINNED[0].width}px`;
    pinned.append(
      sel,
      head('run:id', 'run', 'run', PINNED[1].width, 1),
      head('run:status', 'run', 'status', PINNED[2].width, 2),
    );
    const cells: HTMLElement[] = [pinned];
    for (const vc of vcols) {
      const c = data.columns[vc.index];
      if (!c) continue;
      const cell = head(c.key, c.key.startsWith('run:') ? 'run' : c.group, c.name, vc.size, PINNED.length + vc.index);
      cell.style.left = `${vc.start}px`;
      cells.push(cell);
    }
    this.header.style.width = `${totalW}px`;
    this.header.replaceChildren(...cells);
  }

  private onClick(e: MouseEvent): void {
    const target = e.target instanceof Element ? e.target : null;
    const sortKey = target?.closest('[data-sort]')?.getAttribute('data-sort');
    if (sortKey) {
      this.callbacks.onSort(sortKey);
      return;
    }
    const rowEl = target?.closest<HTMLElement>('.grid-row');
    const runId = Number(rowEl?.dataset.run);
    if (!rowEl || !Number.isInteger(runId)) return;
    const cellEl = target?.closest('.cell');
    const pos = Number(rowEl.dataset.pos);
    const col = Number(cellEl?.getAttribute('aria-colindex')) - 1;
    if (cellEl && Number.isInteger(pos) && Number.isInteger(col) && col >= 0) this.setActive(pos, col, false);
    if (cellEl?.classList.contains('check')) this.callbacks.onToggle(runId);
    this.element.focus({ preventScroll: true });
  }

  private onKey(e: KeyboardEvent): void {
    const data = this.data;
    if (!data) return;
    const page = Math.max(1, Math.floor((this.element.clientHeight - HEADER) / ROW) - 1);
    const lastCol = PINNED.length + data.columns.length - 1;
    let { row, col } = this.active;
    switch (e.key) {
      case 'ArrowDown':
        row++;
        break;
      case 'ArrowUp':
        row--;
        break;
      case 'ArrowRight':
        col++;
        break;
      case 'ArrowLeft':
        col--;
        break;
      case 'PageDown':
        row += page;
        break;
      case 'PageUp':
        row -= page;
        break;
      case 'Home':
        if (e.ctrlKey) row = 0;
        else col = 0;
        break;
      case 'End':
        if (e.ctrlKey) row = rowCount(data) - 1;
        else col = lastCol;
        break;
      case ' ':
      case 'Enter': {
        const r = rowAt(data, row);
        if (r) {
          if (e.key === ' ') this.callbacks.onToggle(r.id);
          else this.callbacks.onOpen(r.id);
        }
        e.preventDefault();
        return;
      }
      case 's':
      case 'S': {
        const key = col === 1 ? 'run:id' : col === 2 ? 'run:status' : data.columns[col - PINNED.length]?.key;
        if (key) this.callbacks.onSort(key);
        e.preventDefault();
        return;
      }
      default:
        return;
    }
    e.preventDefault();
    this.setActive(Math.max(0, Math.min(rowCount(data) - 1, row)), Math.max(0, Math.min(lastCol, col)), true);
  }

  private setActive(row: number, col: number, scroll: boolean): void {
    this.active = { row, col };
    if (scroll) {
      this.rows.scrollToIndex(row, { align: 'auto' });
      if (col >= PINNED.length) this.cols.scrollToIndex(col - PINNED.length, { align: 'auto' });
    }
    this.render();
    this.element.setAttribute('aria-activedescendant', `cell-${row}-${col}`);
  }
}
